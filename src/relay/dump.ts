// RELAY_DUMP: each exchange as the client saw it (request and answer, headers and, with `bodies`,
// bodies up to a cap) written as one redacted JSON line in the log, for debugging a client. The
// taps copy at most the cap per body while the exchange runs; everything else happens once it is over.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { DumpConfig } from '../shared/dump-settings.js';
import { isEventStream } from './headers.js';
import { hasBody } from './json-body.js';
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import type { Redactor } from './redact.js';
import { sseDataReader } from './sse.js';

/** The first `cap` bytes of a body, copied; the rest only counted. */
export class CappedBody {
  private readonly pieces: Buffer[] = [];
  held = 0;
  /** Bytes that passed, held or not. */
  total = 0;

  constructor(private readonly cap: number) {}

  add(chunk: Uint8Array | string): void {
    const piece = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += piece.length;
    if (this.held >= this.cap) return;
    // A copy: holding a view would keep the whole chunk (and the memory it came from) alive.
    const kept = Buffer.from(piece.subarray(0, this.cap - this.held));
    this.pieces.push(kept);
    this.held += kept.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.pieces, this.held);
  }
}

export interface ExchangeSummary {
  status: number;
  /** The name of the token the request was admitted with. */
  token: string | undefined;
  outcome: string;
  durationMs: number;
}

export interface ExchangeDump {
  /** Writes the exchange's line; called once, when the response has closed. */
  finish(summary: ExchangeSummary): void;
}

export interface Dumper {
  /** Starts watching one exchange; call before anything reads the request or writes the response. */
  start(req: IncomingMessage, res: ServerResponse): ExchangeDump;
}

/** The relay's own secrets, known by value; RELAY_TOKEN from the environment read at each call (tokens.json holds only hashes). */
export function relaySecrets(config: RelayConfig, plainTokens: () => readonly string[]): () => Array<string | undefined> {
  const fixed = [
    config.apiKey,
    config.access.metricsToken,
    config.ollamaPath?.split('/').at(-1),
    ...urlCredentials(config.upstream.proxy?.url),
    ...urlCredentials(URL.parse(config.access.redisUrl ?? '') ?? undefined),
  ];
  return () => [...fixed, ...plainTokens()];
}

/** A URL's user and password, as written in it and decoded, and as the user:password pair. */
function urlCredentials(url: URL | undefined): string[] {
  if (url === undefined || (url.username === '' && url.password === '')) return [];
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return [url.username, url.password, user, password, `${user}:${password}`];
}

export function createDumper(config: DumpConfig, redactor: Redactor, logger: Logger): Dumper {
  const bodies = config.mode === 'bodies' ? `bodies up to ${config.maxBodyBytes} bytes each, ` : '';
  logger.warn(`RELAY_DUMP=${config.mode}: every request and answer is written to the log (${bodies}secrets redacted). Turn it off when done: RELAY_DUMP=off.`);
  const cap = config.mode === 'bodies' ? config.maxBodyBytes : 0;
  return {
    start(req, res) {
      // Before the server rewrites req.url for the upstream.
      const path = req.url ?? '';
      const requestBody = cap > 0 ? new CappedBody(cap) : undefined;
      // prependListener, not on('data'): it does not switch the stream to flowing mode, so a reader that
      // starts later (after an asynchronous limiter) still gets the whole body; every read emits 'data'.
      if (requestBody) req.prependListener('data', (chunk: Buffer | string) => requestBody.add(chunk));
      const response = tapResponse(res, cap);
      return {
        finish(summary) {
          const responseHeaders = res.headersSent ? response.headers() : {};
          const notRead = requestBody?.total === 0 && hasBody(req) && !req.complete;
          const record = async () => ({
            method: req.method,
            path,
            status: summary.status,
            token: summary.token,
            outcome: summary.outcome,
            duration_ms: summary.durationMs,
            request: {
              headers: req.headers,
              ...(requestBody && (await describeBody(requestBody, req.headers, cap))),
              ...(notRead && { note: 'not read: the relay answered before reading the body' }),
            },
            response: { headers: responseHeaders, ...(response.body && (await describeBody(response.body, responseHeaders, cap))) },
          });
          // Decoding a compressed body is asynchronous; the line follows the request's own.
          record().then(
            (line) => logger.dump(redactor.value(line) as Record<string, unknown>),
            (error: unknown) => logger.error('could not write a dump line', { error: redactor.text(String(error)) }),
          );
        },
      };
    },
  };
}

/**
 * The answer as the client got it, whichever part of the relay wrote it: writeHead's headers (Node
 * does not keep headers passed only to writeHead) and, with a cap, the body's first bytes.
 * Wrapping the response's own methods, as the compression and on-headers middlewares do.
 */
function tapResponse(res: ServerResponse, cap: number): { headers(): OutgoingHttpHeaders; body: CappedBody | undefined } {
  let passed: OutgoingHttpHeaders | undefined;
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const headers = args.find((arg, index) => index > 0 && typeof arg === 'object' && arg !== null);
    if (headers !== undefined) passed = headerObject(headers as OutgoingHttpHeaders | unknown[]);
    return writeHead.apply(this, args);
  } as typeof res.writeHead;
  const headers = () => ({ ...res.getHeaders(), ...passed });
  if (cap === 0) return { headers, body: undefined };

  const body = new CappedBody(cap);
  for (const method of ['write', 'end'] as const) {
    const original = res[method] as (...args: unknown[]) => unknown;
    res[method] = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) body.add(chunk);
      return original.call(this, chunk, ...rest);
    } as never;
  }
  return { headers, body };
}

/** writeHead's headers as an object with lower-case names: given as one, or as a flat [name, value, ...] list. */
function headerObject(headers: OutgoingHttpHeaders | unknown[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i]).toLowerCase()] = headers[i + 1] as string;
  } else {
    for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  }
  return out;
}

const TEXT_TYPE = /^(text\/|application\/(json|x-ndjson|x-www-form-urlencoded|xml|[\w.+-]*\+json)|multipart\/)/i;

/** A body as the dump shows it: parsed JSON, SSE events, text, or only its size; with a note when cut. */
export async function describeBody(body: CappedBody, headers: OutgoingHttpHeaders, cap: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { body_bytes: body.total };
  if (body.total === 0) return out;
  const contentType = String(headers['content-type'] ?? '');
  if (contentType !== '' && !TEXT_TYPE.test(contentType)) {
    out.note = `not shown: ${contentType} is not text`;
    return out;
  }
  let bytes = body.bytes();
  let cut = body.held < body.total;
  const encoding = String(headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    const decoded = await decode(bytes, encoding, cap);
    if (decoded === undefined) {
      out.note = `not shown: a ${encoding}-encoded body`;
      return out;
    }
    cut ||= decoded.cut;
    bytes = decoded.bytes;
  }
  let text = bytes.toString('utf8');
  // A secret cut in half at the cap would show its first half: the last word goes too.
  if (cut) text = text.replace(/[^\s"]*$/, '');
  if (isEventStream(contentType)) out.events = sseEvents(Buffer.from(text), cut);
  else out.body = (/json/i.test(contentType) && !cut ? parseJson(text) : undefined) ?? text;
  if (cut) {
    const dropped = body.total - body.held;
    out.dropped_bytes = dropped;
    out.note =
      encoding === 'identity'
        ? `cut at ${cap} bytes: ${dropped} more bytes not kept`
        : `cut at ${cap} bytes once decoded (${encoding}): ${dropped} more encoded bytes not kept`;
  }
  return out;
}

/** An object or array parsed from JSON text; undefined for anything else. */
function parseJson(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The `data:` values of an event stream, each parsed when it is JSON; a line cut at the cap is left out. */
function sseEvents(bytes: Buffer, cut: boolean): unknown[] {
  const events: unknown[] = [];
  const reader = sseDataReader((value) => {
    const text = value.toString('utf8').trim();
    events.push(parseJson(text) ?? text);
  });
  reader.push(bytes);
  if (!cut) reader.end();
  return events;
}

const DECODERS: Record<string, () => Transform> = {
  // Sync flush: a body cut at the cap decodes as far as its bytes go instead of failing.
  gzip: () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  'x-gzip': () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  deflate: () => createInflate({ finishFlush: constants.Z_SYNC_FLUSH }),
  br: () => createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH }),
};

/** The first `cap` decoded bytes; decoding stops there, so a small body that inflates to gigabytes costs no more. */
async function decode(bytes: Buffer, encoding: string, cap: number): Promise<{ bytes: Buffer; cut: boolean } | undefined> {
  const decoder = DECODERS[encoding]?.();
  if (decoder === undefined) return undefined;
  const out = new CappedBody(cap);
  decoder.end(bytes);
  try {
    for await (const chunk of decoder) {
      out.add(chunk as Buffer);
      if (out.total > cap) break;
    }
  } catch {
    // A damaged body: what decoded before the damage is shown.
  }
  return out.total === 0 ? undefined : { bytes: out.bytes(), cut: out.total > cap };
}
