// Errors in the shape OpenAI's API returns, so every SDK parses them like its own.
import type { ServerResponse } from 'node:http';

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: null };
}

export function openaiError(message: string, type: string, code: string): OpenAIErrorBody {
  return { error: { message, type, code, param: null } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
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
