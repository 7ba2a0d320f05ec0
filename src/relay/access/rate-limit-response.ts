// The 429 a caller gets over its limit: OpenAI's error shape and a retry-after header, so the SDKs'
// own retry logic waits the right time.
import type { ServerResponse } from 'node:http';
import { openaiError, sendJson } from '../openai-error.js';
import type { Refused } from './limiter.js';

export function rateLimitMessage(refused: Refused, who: string, limit: number | undefined): string {
  return refused.limit === 'rpm'
    ? `Rate limit reached for ${who}: ${limit ?? '?'} requests per minute. Retry after ${refused.retryAfterSec}s.`
    : `Too many requests in flight for ${who}: at most ${limit ?? '?'} at once. Retry after ${refused.retryAfterSec}s.`;
}

/** `who` is what the message names: "token alice", or "this address" in passthrough mode. */
export function sendRateLimited(res: ServerResponse, refused: Refused, who: string, limit: number | undefined): void {
  sendJson(res, 429, openaiError(rateLimitMessage(refused, who, limit), 'requests', 'rate_limit_exceeded'), {
    'retry-after': String(refused.retryAfterSec),
  });
}
