// Reads token usage off a response as it streams past, without holding a big one: the proxy hands
// it each piece it forwards and calls finish() when the body ends.
// - JSON: parsed whole up to JSON_WHOLE_MAX (decompressed if need be). Past that only its head and
//   tail are kept: the model is read near the head, the last "usage" object (OpenAI puts it last)
//   in the tail.
// - SSE: read by ../sse.ts: the model from the first event that names one, the usage from the last
//   event that carries a usage object. A stream that never reports usage (chat completions without
//   stream_options.include_usage) is recorded as "not_reported", not guessed.
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { parseJson } from '../json-body.js';
import { sseDataReader } from '../sse.js';

export interface TokenCounts {
  prompt: number;
  completion: number;
}

export interface UsageObservation {
  status: number;
  stream: boolean;
  /** The model the upstream says answered (the response's `model`), if it said. */
  model: string | undefined;
  /**
   * Counts from the response; 'not_reported' for a successful stream (or compressed body) that
   * carried none; undefined for responses that never carry usage (errors, model lists, files).
   */
  usage: TokenCounts | 'not_reported' | undefined;
  /** Body bytes as received from the upstream (before any decompression). */
  bytes: number;
}

export interface UsageTap {
  onChunk(chunk: Buffer): void;
  finish(): UsageObservation;
}

export interface TapInput {
  contentType: string | undefined;
  status: number;
  contentEncoding?: string | undefined;
}

export const JSON_WHOLE_MAX = 256 * 1024;
const JSON_HEAD = 16 * 1024;
const JSON_TAIL = 64 * 1024;
/** Longest SSE line looked at; a longer one is skipped (usage events are small). */
const SSE_LINE_MAX = 2 * 1024 * 1024;
const DECOMPRESSED_MAX = 8 * 1024 * 1024;

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const MODEL_VALUE = /"model"\s*:\s*"([^"\\]{1,200})"/;

export function createUsageTap(input: TapInput): UsageTap {
  const type = (input.contentType ?? '').toLowerCase();
  const encoding = (input.contentEncoding ?? 'identity').toLowerCase().trim();
  const stream = type.startsWith('text/event-stream');
  if (input.status >= 400) return countingTap(input.status, stream);
  if (stream) return encoding === 'identity' ? sseTap(input.status) : countingTap(input.status, true, 'not_reported');
  if (type.startsWith('application/json') || /^application\/[^;]*\+json/.test(type)) return jsonTap(input.status, encoding);
  return countingTap(input.status, false);
}

/** Counts bytes only: errors, audio, files, anything that carries no usage. */
function countingTap(status: number, stream: boolean, usage?: 'not_reported'): UsageTap {
  let bytes = 0;
  return {
    onChunk: (chunk) => void (bytes += chunk.length),
    finish: () => ({ status, stream, model: undefined, usage, bytes }),
  };
}

/** prompt/completion from chat-style (prompt_tokens, completion_tokens) or Responses-style (input_tokens, output_tokens) usage. */
function tokenCounts(usage: unknown): TokenCounts | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
  const prompt = num(u.prompt_tokens) ?? num(u.input_tokens);
  const total = num(u.total_tokens);
  const completion = num(u.completion_tokens) ?? num(u.output_tokens) ?? (prompt !== undefined && total !== undefined ? total - prompt : undefined);
  if (prompt === undefined && completion === undefined) return undefined;
  return { prompt: prompt ?? 0, completion: completion ?? 0 };
}


/** A JSON value's model and usage, at the top level or under `response` (Responses API events). */
function modelAndUsage(value: unknown): { model: string | undefined; usage: TokenCounts | undefined } {
  const v = value as { model?: unknown; usage?: unknown; response?: { model?: unknown; usage?: unknown } } | null | undefined;
  const model = typeof v?.model === 'string' ? v.model : typeof v?.response?.model === 'string' ? v.response.model : undefined;
  return { model, usage: tokenCounts(v?.usage) ?? tokenCounts(v?.response?.usage) };
}

/** The body decoded; undefined when it is corrupt, too big, or in an encoding not read here. */
function decompress(body: Buffer, encoding: string): Buffer | undefined {
  const options = { maxOutputLength: DECOMPRESSED_MAX };
  try {
    if (encoding === 'identity') return body;
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body, options);
    if (encoding === 'deflate') return inflateSync(body, options);
    if (encoding === 'br') return brotliDecompressSync(body, options);
  } catch {}
  return undefined;
}

function jsonTap(status: number, encoding: string): UsageTap {
  let bytes = 0;
  let whole: Buffer[] | undefined = [];
  let head: Buffer | undefined;
  const tail: Buffer[] = [];
  let tailBytes = 0;
  const keepTail = (piece: Buffer) => {
    tail.push(piece);
    tailBytes += piece.length;
    while (tailBytes - tail[0]!.length >= JSON_TAIL) tailBytes -= tail.shift()!.length;
  };
  return {
    onChunk(chunk) {
      bytes += chunk.length;
      if (whole === undefined) return keepTail(chunk);
      whole.push(chunk);
      if (bytes <= JSON_WHOLE_MAX) return;
      // Too big to hold: from here on only its head and a rolling tail.
      const all = Buffer.concat(whole);
      whole = undefined;
      head = all.subarray(0, JSON_HEAD);
      keepTail(all.subarray(-JSON_TAIL));
    },
    finish() {
      const base = { status, stream: false, bytes };
      if (whole !== undefined) {
        const text = decompress(Buffer.concat(whole), encoding)?.toString('utf8');
        if (text === undefined) return { ...base, model: undefined, usage: 'not_reported' };
        return { ...base, ...modelAndUsage(parseJson(text)) };
      }
      // A compressed body this big cannot be read from its ends.
      if (encoding !== 'identity') return { ...base, model: undefined, usage: 'not_reported' };
      return { ...base, model: MODEL_VALUE.exec(head!.toString('utf8'))?.[1], usage: usageFromTail(Buffer.concat(tail).toString('utf8')) };
    },
  };
}

/** The last `"usage": {...}` object in a text, read by matching braces (strings respected). */
export function usageFromTail(text: string): TokenCounts | undefined {
  const key = text.lastIndexOf('"usage"');
  if (key < 0) return undefined;
  const match = USAGE_OBJECT.exec(text.slice(key));
  if (!match) return undefined;
  const start = key + match[0].length - 1;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return tokenCounts(parseJson(text.slice(start, i + 1)));
  }
  return undefined;
}

function sseTap(status: number): UsageTap {
  let bytes = 0;
  let model: string | undefined;
  let usage: TokenCounts | undefined;
  const reader = sseDataReader((value) => {
    const text = value.toString('utf8');
    model ??= MODEL_VALUE.exec(text)?.[1];
    // Only an event with a usage object is parsed (include_usage puts `"usage": null` on the
    // others): parsing all of a 20-event stream costs ~40 µs against ~6 µs for these searches.
    if (USAGE_OBJECT.test(text)) usage = modelAndUsage(parseJson(text)).usage ?? usage;
  }, SSE_LINE_MAX);
  return {
    onChunk(chunk) {
      bytes += chunk.length;
      reader.push(chunk);
    },
    finish() {
      reader.end();
      return { status, stream: true, model, usage: usage ?? 'not_reported', bytes };
    },
  };
}
