// Realtime API over WebSocket: the relay checks the client's handshake, rewrites it (server key in,
// relay token out) and sends it upstream; after the upstream's answer the two sockets are joined
// byte for byte, so frames of every kind, ping/pong and close codes cross untouched.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Authenticator } from './auth.js';
import type { Timeouts, Upstream } from './config.js';
import { isAllowedOrigin, type CorsPolicy } from './cors.js';
import { upstreamRequestHeaders, type UpstreamCredentials } from './headers.js';
import type { Logger } from './log.js';
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
  logger: Logger;
  /** The path as the log may show it (never the Ollama secret). */
  loggedPath(target: string): string;
  /** Called when a session starts and ends, so shutdown can wait for sessions like requests. */
  onOpen(): void;
  onClose(): void;
}

export interface RealtimeProxy {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Cuts every open session (end of the shutdown grace period). */
  destroyAll(): void;
}

type Outcome = 'ok' | 'client_closed' | 'refused' | 'upstream_error' | 'upstream_timeout';

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
  const { upstream, credentials, timeouts, auth, logger } = options;
  const upstreamUrl = new URL(upstream.origin);
  const sessions = new Set<Socket | Duplex>();

  return {
    destroyAll() {
      for (const socket of sessions) socket.destroy();
    },
    handleUpgrade(req, client, head) {
      const startedAt = performance.now();
      const target = req.url ?? '';
      const fields: Record<string, string | number | undefined> = { path: options.loggedPath(target).slice(0, 200) };
      let logged = false;
      const log = (outcome: Outcome, status: number | undefined, upstreamSocket?: Socket) => {
        if (logged) return;
        logged = true;
        logger.info('realtime', {
          ...fields,
          status,
          outcome,
          duration_ms: Math.round(performance.now() - startedAt),
          bytes_in: upstreamSocket?.bytesWritten ?? 0,
          bytes_out: upstreamSocket?.bytesRead ?? 0,
        });
      };
      const refuseAndLog = (status: number, message: string, code: string, outcome: Outcome = 'refused') => {
        refuse(client, status, message, code);
        log(outcome, status);
      };
      client.on('error', () => client.destroy());

      const apiTarget = stripPrefix(target, options.pathPrefix);
      if (
        apiTarget === undefined ||
        !isForwardable(apiTarget) ||
        pathOnly(apiTarget) !== '/v1/realtime' ||
        req.headers.upgrade?.toLowerCase() !== 'websocket'
      ) {
        return refuseAndLog(
          404,
          `No WebSocket route for ${pathOnly(target).slice(0, 200)}: the relay takes WebSocket upgrades on ${options.pathPrefix}/v1/realtime.`,
          'not_found',
        );
      }
      // Browsers always send Origin, and any page could open this socket: hold them to the CORS list.
      const origin = req.headers.origin;
      if (origin !== undefined && !(options.cors && isAllowedOrigin(options.cors, origin))) {
        return refuseAndLog(403, 'This origin may not open Realtime sessions on this relay (see RELAY_CORS_ORIGINS).', 'origin_not_allowed');
      }
      const protocols = splitSubprotocols(req.headers['sec-websocket-protocol'] as string | undefined);
      fields.auth = req.headers.authorization !== undefined ? 'header' : protocols.token !== undefined ? 'subprotocol' : 'none';
      const presented = req.headers.authorization ?? (protocols.token === undefined ? undefined : `Bearer ${protocols.token}`);
      if (!auth.check(presented)) {
        return refuseAndLog(
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
          return refuseAndLog(403, `The model \`${model.slice(0, 100)}\` is not available on this relay.`, 'model_not_found');
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

      sessions.add(client);
      options.onOpen();
      let remote: Socket | undefined;
      let status: number | undefined;
      let outcome: Outcome | undefined;
      const opening = new AbortController();
      const timer = setTimeout(() => {
        outcome = 'upstream_timeout';
        if (status === undefined) refuse(client, 504, 'The upstream API did not answer the WebSocket handshake in time.', 'upstream_timeout');
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
          status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(pending.subarray(0, 16).toString('latin1'))?.[1]) || undefined;
          socket.off('data', readHead);
          // The upstream's answer goes to the client as it is: its 101 (subprotocol, extensions, accept
          // key for the client's own Sec-WebSocket-Key) or its error, which says what went wrong.
          client.write(withoutCookies(pending, end));
          socket.pipe(client);
        };
        socket.on('data', readHead);
        socket.on('error', () => {
          outcome ??= 'upstream_error';
          if (status === undefined) refuse(client, 502, 'The relay could not open a WebSocket to the upstream API.', 'upstream_unreachable');
        });
        socket.on('close', () => {
          clearTimeout(timer);
          outcome ??= 'ok';
          // Let what the upstream sent last (its close frame) reach the client before the socket goes.
          if (status !== undefined) client.end();
          setTimeout(() => client.destroy(), 1_000).unref();
        });
      };
      openUpstreamSocket(upstreamUrl, upstream.proxy, timeouts.connectMs, opening.signal).then(
        (socket) => (client.destroyed || outcome !== undefined ? socket.destroy() : join(socket)),
        (error: Error) => {
          clearTimeout(timer);
          if (outcome !== undefined) return;
          outcome = 'upstream_error';
          const failure = upstream.proxy && describeProxyFailure(upstream.proxy, error);
          if (failure) refuse(client, 502, failure.message, failure.code);
          else refuse(client, 502, 'The relay could not open a WebSocket to the upstream API.', 'upstream_unreachable');
          setTimeout(() => client.destroy(), 1_000).unref();
        },
      );
      client.on('close', () => {
        outcome ??= 'client_closed';
        opening.abort();
        remote?.destroy();
        sessions.delete(client);
        if (remote) sessions.delete(remote);
        clearTimeout(timer);
        log(outcome, status, remote);
        options.onClose();
      });
    },
  };
}
