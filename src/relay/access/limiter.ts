// Per-caller limits: requests per minute and requests in flight. Requests per minute is a bucket of
// `rpm` requests that refills evenly over a minute (GCRA: one timestamp per caller, O(1)), so a
// burst of `rpm` passes and then one request every 60/rpm seconds. Concurrency is a count of
// leases, released when the response ends. In memory by default; redis-limiter.ts shares them.
import type { TokenLimits } from '../../shared/tokens-file.js';

export type Acquired = { ok: true; release(): void };
export type Refused = { ok: false; retryAfterSec: number; limit: 'rpm' | 'concurrency' };

export interface Limiter {
  /** `key` names who is limited: `token:<name>` or `ip:<address>` (see access-mode.ts). */
  acquire(key: string, limits: TokenLimits): Promise<Acquired | Refused>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;
/** A refused concurrent request cannot know when a slot frees up; clients retry after this. */
export const CONCURRENCY_RETRY_SEC = 1;

/** Let through with no slot to give back: no concurrency limit (or, with Redis, no answer from it). */
export const NOTHING_HELD: Acquired = { ok: true, release() {} };

/** The GCRA step: the caller's new "theoretical arrival time", or how long until one more fits. */
export function gcra(tat: number | undefined, rpm: number, now: number): { ok: true; tat: number } | { ok: false; retryAfterMs: number } {
  const next = Math.max(tat ?? now, now) + WINDOW_MS / rpm;
  const allowedAt = next - WINDOW_MS;
  return now < allowedAt ? { ok: false, retryAfterMs: allowedAt - now } : { ok: true, tat: next };
}

export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

interface Caller {
  tat: number | undefined;
  active: number;
}

/** A held slot whose release counts once, however often a caller (or two 'close' paths) calls it. */
export function releaseOnce(release: () => void): Acquired {
  let released = false;
  return {
    ok: true,
    release() {
      if (released) return;
      released = true;
      release();
    },
  };
}

export interface MemoryLimiter extends Limiter {
  /** How many callers it holds state for: one per key until the minute sweep drops it idle (a gauge for memory). */
  callerCount(): number;
}

export function createMemoryLimiter(now: () => number = Date.now): MemoryLimiter {
  const callers = new Map<string, Caller>();
  let sweptAt = now();
  // Callers with nothing in flight and a refilled bucket carry no state: drop them once a minute,
  // so per-IP keys in passthrough mode do not grow without end.
  const sweep = (at: number) => {
    if (at - sweptAt < WINDOW_MS) return;
    sweptAt = at;
    for (const [key, caller] of callers) if (caller.active === 0 && (caller.tat === undefined || caller.tat <= at)) callers.delete(key);
  };
  return {
    async acquire(key, limits) {
      if (limits.rpm === undefined && limits.concurrency === undefined) return NOTHING_HELD;
      const at = now();
      sweep(at);
      const caller = callers.get(key) ?? { tat: undefined, active: 0 };
      callers.set(key, caller);
      if (limits.concurrency !== undefined && caller.active >= limits.concurrency) {
        return { ok: false, retryAfterSec: CONCURRENCY_RETRY_SEC, limit: 'concurrency' };
      }
      if (limits.rpm !== undefined) {
        const step = gcra(caller.tat, limits.rpm, at);
        if (!step.ok) return { ok: false, retryAfterSec: retryAfterSeconds(step.retryAfterMs), limit: 'rpm' };
        caller.tat = step.tat;
      }
      if (limits.concurrency === undefined) return NOTHING_HELD;
      caller.active++;
      return releaseOnce(() => caller.active--);
    },
    callerCount: () => callers.size,
    async close() {
      callers.clear();
    },
  };
}
