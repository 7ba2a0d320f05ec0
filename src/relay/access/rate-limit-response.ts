// What a caller over its limit is told, in every API's 429 (see ApiErrors in openai-error.ts).
import type { Refused } from './limiter.js';

/** `who` is what the message names: "token alice", or "this address" in passthrough mode. */
export function rateLimitMessage(refused: Refused, who: string, limit: number | undefined): string {
  return refused.limit === 'rpm'
    ? `Rate limit reached for ${who}: ${limit ?? '?'} requests per minute. Retry after ${refused.retryAfterSec}s.`
    : `Too many requests in flight for ${who}: at most ${limit ?? '?'} at once. Retry after ${refused.retryAfterSec}s.`;
}
