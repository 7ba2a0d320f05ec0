// Realtime API over WebSocket: the relay checks the client's handshake, rewrites it (server key in,
// relay token out) and sends it upstream; after the upstream's answer the two sockets are joined
// byte for byte, so frames of every kind, ping/pong and close codes cross untouched.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Authenticator } from './auth.js';
import type { Timeouts, Upstream } from './config.js';
import { isAllowedOrigin, type CorsPolicy } from './cors.js';
import { upstreamRequestHeaders, type UpstreamCredentials } from './headers.js';
import type { RealtimeSession, SessionOutcome } from './exchange.js';
import { resolveModel, type ModelPolicy } from './models.js';
import { openaiError } from './openai-error.js';
import { describeProxyFailure } from './outbound-proxy.js';
import { openUpstreamSocket } from './upstream-socket.js';
import { isForwardable, pathOnly, stripPrefix } from './paths.js';

/** Browsers cannot set headers on a WebSocket, so OpenAI takes the key in a subprotocol. */
export const KEY_SUBPROTOCOL = 'openai-insecure-api-key.';
const MAX_RESPONSE_HEAD = 64 * 1024;

export interface RealtimeOptions {
  upstream: Upstream;
  credentials: UpstreamCredentials;
  timeouts: Timeouts;
  auth: Authenticator;
  pathPrefix: string;
  cors: CorsPolicy | undefined;
  models: ModelPolicy | undefined;
}

export interface RealtimeProxy {
  /** Answers the session's upgrade; the caller finishes the session when `socket` closes, after `session.upstreamCall.clientClosed()`. */
  handleUpgrade(session: RealtimeSession, socket: Duplex, head: Buffer): void;
  /** Cuts every open session (end of the shutdown grace period). */
  destroyAll(): void;
}

function refuse(socket: Duplex, status: number, message: string, code: string): void {
  const body = JSON.stringify(openaiError(message, status === 502 || status === 504 ? 'relay_error' : 'invalid_request_error', code));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The Sec-WebSocket-Protocol list split into the relay token (if sent there) and the rest. */
export function splitSubprotocols(header: string | undefined): { token: string | undefined; kept: string[] } {
  let token: string | undefined;
  const kept: string[] = [];
  for (const entry of (header ?? '').split(',')) {
    const protocol = entry.trim();
    if (protocol.startsWith(KEY_SUBPROTOCOL)) token = protocol.slice(KEY_SUBPROTOCOL.length);
    else if (protocol) kept.push(protocol);
  }
  return { token, kept };
}

/** The upstream's handshake answer (head ends at `headEnd`) without its Set-Cookie lines: its cookies are for its own domain. */
function withoutCookies(answer: Buffer, headEnd: number): Buffer {
  const head = answer.subarray(0, headEnd).toString('latin1');
  if (!/\r\nset-cookie2?:/i.test(head)) return answer;
  const kept = head.split('\r\n').filter((line) => !/^set-cookie2?:/i.test(line));
  return Buffer.concat([Buffer.from(kept.join('\r\n'), 'latin1'), answer.subarray(headEnd)]);
}

export function createRealtimeProxy(options: RealtimeOptions): RealtimeProxy {
  const { upstream, credentials, timeouts, auth } = options;
  const upstreamUrl = new URL(upstream.origin);
  const sessions = new Set<Socket | Duplex>();

  return {
    destroyAll() {
      for (const socket of sessions) socket.destroy();
    },
    handleUpgrade(session, client, head) {
      const { req } = session;
      const target = req.url ?? '';
      const refuseWith = (status: number, message: string, code: string, outcome: SessionOutcome = 'refused') => {
        session.status = status;
        session.outcome = outcome;
        refuse(client, status, message, code);
      };
      let remote: Socket | undefined;
      let timer: NodeJS.Timeout | undefined;
      const opening = new AbortController();
      sessions.add(client);
      client.on('error', () => client.destroy());
      session.upstreamCall = {
        clientClosed() {
          session.outcome ??= 'client_closed';
          clearTimeout(timer);
          opening.abort();
          remote?.destroy();
          sessions.delete(client);
          if (remote) sessions.delete(remote);
          session.bytesIn = remote?.bytesWritten ?? 0;
          session.bytesOut = remote?.bytesRead ?? 0;
        },
      };

      const apiTarget = stripPrefix(target, options.pathPrefix);
      if (
        apiTarget === undefined ||
        !isForwardable(apiTarget) ||
        pathOnly(apiTarget) !== '/v1/realtime' ||
        req.headers.upgrade?.toLowerCase() !== 'websocket'
      ) {
        return refuseWith(
          404,
          `No WebSocket route for ${pathOnly(target).slice(0, 200)}: the relay takes WebSocket upgrades on ${options.pathPrefix}/v1/realtime.`,
          'not_found',
        );
      }
      // Browsers always send Origin, and any page could open this socket: hold them to the CORS list.
      const origin = req.headers.origin;
      if (origin !== undefined && !(options.cors && isAllowedOrigin(options.cors, origin))) {
        return refuseWith(403, 'This origin may not open Realtime sessions on this relay (see RELAY_CORS_ORIGINS).', 'origin_not_allowed');
      }
      const protocols = splitSubprotocols(req.headers['sec-websocket-protocol'] as string | undefined);
      session.auth = req.headers.authorization !== undefined ? 'header' : protocols.token !== undefined ? 'subprotocol' : 'none';
      const presented = req.headers.authorization ?? (protocols.token === undefined ? undefined : `Bearer ${protocols.token}`);
      if (!auth.check(presented)) {
        return refuseWith(
          401,
          `Missing or invalid relay token: send "Authorization: Bearer <RELAY_TOKEN>" or the "${KEY_SUBPROTOCOL}<RELAY_TOKEN>" subprotocol.`,
          'invalid_api_key',
        );
      }

      let upstreamPath = apiTarget;
      if (options.models) {
        const queryAt = apiTarget.indexOf('?');
        const query = new URLSearchParams(queryAt === -1 ? '' : apiTarget.slice(queryAt + 1));
        const model = query.get('model') ?? '';
        const resolved = resolveModel(options.models, model);
        if (resolved === undefined) {
          return refuseWith(403, `The model \`${model.slice(0, 100)}\` is not available on this relay.`, 'model_not_found');
        }
        if (resolved !== model) {
          query.set('model', resolved);
          upstreamPath = `/v1/realtime?${query}`;
        }
      }

      const headers = upstreamRequestHeaders(req.headers, credentials);
      // The upstream sees a server-to-server connection: no browser origin, no relay token.
      delete headers['sec-websocket-protocol'];
      delete headers.origin;
      const lines = [`GET ${upstream.basePath}${upstreamPath} HTTP/1.1`, `host: ${upstreamUrl.host}`, 'connection: Upgrade', 'upgrade: websocket'];
      if (protocols.kept.length > 0) lines.push(`sec-websocket-protocol: ${protocols.kept.join(', ')}`);
      for (const [name, value] of Object.entries(headers)) {
        for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
      }

      // Once the client has its answer, the relay's own refusals are too late.
      const failed = (status: number, message: string, code: string, outcome: SessionOutcome) => {
        if (session.outcome !== undefined) return;
        if (session.status === undefined) refuseWith(status, message, code, outcome);
        else session.outcome = outcome;
      };
      timer = setTimeout(() => {
        failed(504, 'The upstream API did not answer the WebSocket handshake in time.', 'upstream_timeout', 'upstream_timeout');
        opening.abort();
        remote?.destroy();
      }, timeouts.connectMs + timeouts.firstByteMs);

      const join = (socket: Socket) => {
        remote = socket;
        sessions.add(socket);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length > 0) socket.write(head);
        client.pipe(socket);

        let pending = Buffer.alloc(0);
        const readHead = (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          const end = pending.indexOf('\r\n\r\n');
          if (end === -1) {
            if (pending.length > MAX_RESPONSE_HEAD) socket.destroy();
            return;
          }
          clearTimeout(timer);
          session.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(pending.subarray(0, 16).toString('latin1'))?.[1]) || undefined;
          socket.off('data', readHead);
          // The upstream's answer goes to the client as it is: its 101 (subprotocol, extensions, accept
          // key for the client's own Sec-WebSocket-Key) or its error, which says what went wrong.
          client.write(withoutCookies(pending, end));
          socket.pipe(client);
        };
        socket.on('data', readHead);
        socket.on('error', () => failed(502, 'The relay could not open a WebSocket to the upstream API.', 'upstream_unreachable', 'upstream_error'));
        socket.on('close', () => {
          clearTimeout(timer);
          session.outcome ??= 'ok';
          // Let what the upstream sent last (its close frame) reach the client before the socket goes.
          if (session.status !== undefined) client.end();
          setTimeout(() => client.destroy(), 1_000).unref();
        });
      };
      openUpstreamSocket(upstreamUrl, upstream.proxy, timeouts.connectMs, opening.signal).then(
        (socket) => (client.destroyed || session.outcome !== undefined ? socket.destroy() : join(socket)),
        (error: Error) => {
          clearTimeout(timer);
          const failure = (upstream.proxy && describeProxyFailure(upstream.proxy, error)) || {
            message: 'The relay could not open a WebSocket to the upstream API.',
            code: 'upstream_unreachable',
          };
          failed(502, failure.message, failure.code, 'upstream_error');
          setTimeout(() => client.destroy(), 1_000).unref();
        },
      );
    },
  };
}
