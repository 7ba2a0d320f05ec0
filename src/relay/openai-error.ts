// Errors in the shape OpenAI's API returns, so every SDK parses them like its own.
import type { ServerResponse } from 'node:http';
import { hasBody } from './json-body.js';

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: null };
}

export function openaiError(message: string, type: string, code: string): OpenAIErrorBody {
  return { error: { message, type, code, param: null } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
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
