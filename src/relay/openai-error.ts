// Errors in the shape OpenAI's API returns, so every SDK parses them like its own.
import type { ServerResponse } from 'node:http';
import { rateLimitMessage } from './access/rate-limit-response.js';
import type { Refused } from './access/limiter.js';
import { hasBody } from './json-body.js';

interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: null };
}

export function openaiError(message: string, type: string, code: string): OpenAIErrorBody {
  return { error: { message, type, code, param: null } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** `text`: the body, already JSON. */
export function sendJsonText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  // Answered before its body was read, and nobody reads it: the connection closes after this
  // answer (Node then destroys the socket) instead of reading a body of any length to keep it
  // alive. A body being drained on purpose (the 413, so the client reads it) is left to finish.
  if (hasBody(res.req) && !res.req.complete && res.req.readableFlowing !== true) res.setHeader('connection', 'close');
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string, type: string, code: string): void {
  if (res.headersSent) {
    // Too late for a status: cut the response so the client sees it failed rather than a short body.
    res.destroy();
    return;
  }
  sendJson(res, status, openaiError(message, type, code));
}

/** How an API says no: each route answers its refusals in its own API's shape (see routes.ts). */
export interface ApiErrors {
  /** 401: no token, or not one of the relay's. */
  unauthorized(res: ServerResponse, message: string): void;
  /** 429 with retry-after, so SDKs wait the right time; `who` is "token alice", or "this address" in passthrough mode. */
  rateLimited(res: ServerResponse, refused: Refused, who: string, limit: number | undefined): void;
  /** 500: the relay itself failed. */
  failed(res: ServerResponse): void;
}

export const openaiErrors: ApiErrors = {
  unauthorized: (res, message) => sendError(res, 401, message, 'invalid_request_error', 'invalid_api_key'),
  rateLimited(res, refused, who, limit) {
    sendJson(res, 429, openaiError(rateLimitMessage(refused, who, limit), 'requests', 'rate_limit_exceeded'), { 'retry-after': String(refused.retryAfterSec) });
  },
  failed: (res) => sendError(res, 500, 'The relay failed unexpectedly.', 'relay_error', 'internal_error'),
};
