// Reads token usage off a response as it streams past, without holding it: the proxy hands it
// what each upstream read brought (as it writes that to the client) and calls finish() when the
// body ends.
// - JSON: the body is kept up to JSON_WHOLE_MAX (decompressed if need be), past that only its head
//   and tail; at the end the model is read near the head and the last "usage" object (which
//   OpenAI puts last) at the tail, without parsing the whole answer.
// - SSE: read by ../sse.ts; only a `data:` value that carries a usage object is kept (the last
//   one), plus the model from the first event. A stream that never reports usage (chat
//   completions without stream_options.include_usage) is recorded as "not_reported", not guessed.
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
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
export const JSON_HEAD = 16 * 1024;
export const JSON_TAIL = 64 * 1024;
/** Longest SSE line looked at; a longer one is skipped (usage events are small). */
export const SSE_LINE_MAX = 2 * 1024 * 1024;
const DECOMPRESSED_MAX = 8 * 1024 * 1024;

const USAGE_KEY = Buffer.from('"usage"');
const MODEL_KEY = Buffer.from('"model"');
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const MODEL_VALUE = /"model"\s*:\s*"([^"\\]{1,200})"/;

export function createUsageTap(input: TapInput): UsageTap {
  const type = (input.contentType ?? '').toLowerCase();
  const encoding = (input.contentEncoding ?? 'identity').toLowerCase().trim();
  if (input.status >= 400) return countingTap(input.status, type.startsWith('text/event-stream'));
  if (type.startsWith('text/event-stream')) return encoding === 'identity' ? sseTap(input.status) : countingTap(input.status, true, 'not_reported');
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
export function tokenCounts(usage: unknown): TokenCounts | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
  const prompt = num(u.prompt_tokens) ?? num(u.input_tokens);
  const total = num(u.total_tokens);
  const completion = num(u.completion_tokens) ?? num(u.output_tokens) ?? (prompt !== undefined && total !== undefined ? total - prompt : undefined);
  if (prompt === undefined && completion === undefined) return undefined;
  return { prompt: prompt ?? 0, completion: completion ?? 0 };
}

/** A JSON value's usage and model, at the top level or under `response` (Responses API events). */
function fromParsed(value: unknown): { model: string | undefined; usage: TokenCounts | undefined } {
  const v = value as { model?: unknown; usage?: unknown; response?: { model?: unknown; usage?: unknown } } | null;
  const model = typeof v?.model === 'string' ? v.model : typeof v?.response?.model === 'string' ? v.response.model : undefined;
  return { model, usage: tokenCounts(v?.usage) ?? tokenCounts(v?.response?.usage) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decompress(body: Buffer, encoding: string): Buffer | undefined {
  const options = { maxOutputLength: DECOMPRESSED_MAX };
  try {
    if (encoding === 'identity') return body;
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body, options);
    if (encoding === 'deflate') return inflateSync(body, options);
    if (encoding === 'br') return brotliDecompressSync(body, options);
  } catch {
    return undefined;
  }
  return undefined;
}

function jsonTap(status: number, encoding: string): UsageTap {
  let bytes = 0;
  let whole: Buffer[] | undefined = [];
  let head: Buffer | undefined;
  let tail: Buffer[] = [];
  let tailBytes = 0;
  return {
    onChunk(chunk) {
      bytes += chunk.length;
      if (whole !== undefined) {
        whole.push(chunk);
        if (bytes <= JSON_WHOLE_MAX) return;
        // Too big to keep: from here on only the head and a rolling tail.
        const all = Buffer.concat(whole);
        whole = undefined;
        head = all.subarray(0, JSON_HEAD);
        tail = [all.subarray(-JSON_TAIL)];
        tailBytes = tail[0]!.length;
        return;
      }
      tail.push(chunk);
      tailBytes += chunk.length;
      while (tail.length > 1 && tailBytes - tail[0]!.length >= JSON_TAIL) tailBytes -= tail.shift()!.length;
    },
    finish() {
      const base = { status, stream: false, bytes };
      if (whole !== undefined) {
        const body = decompress(whole.length === 1 ? whole[0]! : Buffer.concat(whole), encoding);
        if (body === undefined) return { ...base, model: undefined, usage: 'not_reported' };
        // Read from its ends like a big one: parsing every answer whole cost ~3% of the relay's CPU.
        const text = body.toString('utf8');
        return { ...base, model: modelFromHead(text.slice(0, JSON_HEAD)), usage: usageFromTail(text) };
      }
      // A compressed body this big cannot be read from its ends.
      if (encoding !== 'identity') return { ...base, model: undefined, usage: 'not_reported' };
      return { ...base, model: modelFromHead(head!.toString('utf8')), usage: usageFromTail(Buffer.concat(tail).toString('utf8')) };
    },
  };
}

/** The first `"model": "..."`: OpenAI puts the top-level one before any content. */
function modelFromHead(text: string): string | undefined {
  return MODEL_VALUE.exec(text)?.[1];
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

/** `"usage"` followed by `:` and `{` (not `null`, which include_usage puts on every other chunk), byte by byte. */
function hasUsageObject(line: Buffer): boolean {
  for (let at = line.indexOf(USAGE_KEY); at >= 0; at = line.indexOf(USAGE_KEY, at + 1)) {
    let i = at + USAGE_KEY.length;
    while (line[i] === 0x20 || line[i] === 0x09) i++;
    if (line[i++] !== 0x3a) continue;
    while (line[i] === 0x20 || line[i] === 0x09) i++;
    if (line[i] === 0x7b) return true;
  }
  return false;
}

function sseTap(status: number): UsageTap {
  let bytes = 0;
  let model: string | undefined;
  let lastUsage: string | undefined;
  // Byte searches first: JSON.parse only for the last value that carries usage, at the end.
  const reader = sseDataReader((value) => {
    if (hasUsageObject(value)) lastUsage = value.toString('utf8');
    if (model === undefined && value.indexOf(MODEL_KEY) >= 0) model = modelFromHead(value.toString('utf8'));
  }, SSE_LINE_MAX);
  return {
    onChunk(chunk) {
      bytes += chunk.length;
      reader.push(chunk);
    },
    finish() {
      reader.end();
      const parsed = lastUsage === undefined ? undefined : fromParsed(parseJson(lastUsage));
      return { status, stream: true, model: model ?? parsed?.model, usage: parsed?.usage ?? 'not_reported', bytes };
    },
  };
}
