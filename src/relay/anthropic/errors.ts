// Errors in the shape Anthropic's API returns ({"type":"error","error":{"type":...,"message":...}}),
// so Anthropic SDKs and Claude Code raise their own error classes and retry as they would there.
import type { ServerResponse } from 'node:http';
import { rateLimitMessage } from '../access/rate-limit-response.js';
import { sendJson, type ApiErrors } from '../openai-error.js';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
}

/** A failure to answer with: the status and error type the client sees. */
export class AnthropicFailure extends Error {
  constructor(
    readonly status: number,
    readonly type: AnthropicErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function anthropicError(type: AnthropicErrorType, message: string): AnthropicErrorBody {
  return { type: 'error', error: { type, message } };
}

/**
 * The Anthropic status and error type for an upstream (OpenAI) error status. OpenAI's 503 "overloaded"
 * becomes Anthropic's 529 overloaded_error, which Anthropic clients back off from and retry.
 */
export function errorForUpstreamStatus(status: number): { status: number; type: AnthropicErrorType } {
  if (status === 400 || status === 422) return { status: 400, type: 'invalid_request_error' };
  if (status === 401) return { status: 401, type: 'authentication_error' };
  if (status === 403) return { status: 403, type: 'permission_error' };
  if (status === 404) return { status: 404, type: 'not_found_error' };
  if (status === 413) return { status: 413, type: 'request_too_large' };
  if (status === 429) return { status: 429, type: 'rate_limit_error' };
  if (status === 503 || status === 529) return { status: 529, type: 'overloaded_error' };
  if (status >= 400 && status < 500) return { status, type: 'invalid_request_error' };
  return { status: status >= 500 ? status : 500, type: 'api_error' };
}

export function sendAnthropicError(res: ServerResponse, failure: AnthropicFailure): void {
  if (res.headersSent) {
    // Too late for a status: cut the response so the client sees it failed rather than a short body.
    res.destroy();
    return;
  }
  sendJson(res, failure.status, anthropicError(failure.type, failure.message), failure.headers);
}

/** The relay's own refusals in Anthropic's shape: the Anthropic route's errors (routes.ts). */
export const anthropicErrors: ApiErrors = {
  unauthorized(res, message) {
    const hint = message.replace('"Authorization: Bearer <RELAY_TOKEN>"', '"x-api-key: <RELAY_TOKEN>" or "Authorization: Bearer <RELAY_TOKEN>"');
    sendAnthropicError(res, new AnthropicFailure(401, 'authentication_error', hint));
  },
  rateLimited(res, refused, who, limit) {
    const headers = { 'retry-after': String(refused.retryAfterSec) };
    sendAnthropicError(res, new AnthropicFailure(429, 'rate_limit_error', rateLimitMessage(refused, who, limit), headers));
  },
  failed: (res) => sendAnthropicError(res, new AnthropicFailure(500, 'api_error', 'The relay failed unexpectedly.')),
};
