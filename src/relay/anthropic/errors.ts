// Errors in the shape Anthropic's API returns ({"type":"error","error":{"type":...,"message":...}}),
// so Anthropic SDKs and Claude Code raise their own error classes and retry as they would there.
import type { ServerResponse } from 'node:http';
import { sendJson, type ApiErrors } from '../openai-error.js';
import { ApiFailure } from '../errors.js';
import { translatedErrors } from '../upstream-call.js';
import { formatEvent, streamError } from './stream.js';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** A request the translation refuses; its error type follows from its status. */
export class AnthropicFailure extends ApiFailure {
  get type(): AnthropicErrorType {
    return errorForUpstreamStatus(this.status).type;
  }
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

export function sendAnthropicError(res: ServerResponse, failure: ApiFailure): void {
  const { status, type } = errorForUpstreamStatus(failure.status);
  // Too late for a status: the error event ends the stream, as Anthropic's does.
  if (!res.headersSent) sendJson(res, status, { type: 'error', error: { type, message: failure.message } }, failure.headers);
  else if (!res.writableEnded) res.end(formatEvent(streamError(type, failure.message)));
}

/** The relay's own refusals in Anthropic's shape: the Anthropic route's errors (routes.ts). */
export const anthropicErrors: ApiErrors = {
  ...translatedErrors(sendAnthropicError),
  unauthorized(res, message) {
    const hint = message.replace('"Authorization: Bearer <RELAY_TOKEN>"', '"x-api-key: <RELAY_TOKEN>" or "Authorization: Bearer <RELAY_TOKEN>"');
    sendAnthropicError(res, new ApiFailure(401, hint));
  },
};
