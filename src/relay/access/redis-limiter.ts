// The limiter in Redis (REDIS_URL), so relays behind one balancer enforce one limit. Each decision
// is one Lua script, atomic in Redis and timed by Redis's clock, so the relays' clocks may differ.
// Concurrency leases carry an expiry that a held request keeps pushing forward: a relay that dies
// mid-stream frees its slots within LEASE_MS instead of holding them for ever.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CONCURRENCY_RETRY_SEC, type Limiter, NOTHING_HELD, releaseOnce, retryAfterSeconds, WINDOW_MS } from './limiter.js';

export const LEASE_MS = 60_000;

// KEYS: rate key, leases key. ARGV: rpm (0: none), concurrency (0: none), lease id, lease ms, window ms.
// Returns {1} or {0, retry-after ms, 'rpm'|'concurrency'}.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm = tonumber(ARGV[1])
local conc = tonumber(ARGV[2])
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= conc then return {0, 0, 'concurrency'} end
end
if rpm > 0 then
  local window = tonumber(ARGV[5])
  local tat = tonumber(redis.call('GET', KEYS[1]) or now)
  if tat < now then tat = now end
  local nextTat = tat + window / rpm
  local allowedAt = nextTat - window
  if now < allowedAt then return {0, math.ceil(allowedAt - now), 'rpm'} end
  redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now))
end
if conc > 0 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
end
return {1}
`;

// KEYS: leases key. ARGV: lease id, lease ms.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
`;

interface LimiterRedis extends Redis {
  relayAcquire(rate: string, leases: string, rpm: number, conc: number, id: string, leaseMs: number, windowMs: number): Promise<[number, number?, string?]>;
  relayRenew(leases: string, id: string, leaseMs: number): Promise<number>;
}

export interface RedisLimiterOptions {
  url: string;
  /** Key prefix, so several relays (or tests) can share one Redis. */
  prefix?: string;
  /** Redis unreachable or slow: the request is let through (the relay stays up) and this is told why; `first`: since Redis last answered. */
  onError?: (error: Error, first: boolean) => void;
  leaseMs?: number;
  /** Longest a decision may wait on Redis before the request is let through. */
  timeoutMs?: number;
}

export function createRedisLimiter(options: RedisLimiterOptions): Limiter {
  const prefix = options.prefix ?? 'relay:';
  const leaseMs = options.leaseMs ?? LEASE_MS;
  const onError = options.onError ?? (() => {});
  const redis = new Redis(options.url, {
    // A limiter that waits on a dead Redis would stall every request: fail fast, retry in the background.
    maxRetriesPerRequest: 1,
    commandTimeout: options.timeoutMs ?? 500,
    connectTimeout: 2_000,
  }) as LimiterRedis;
  let failing = false;
  const failed = (error: Error) => {
    onError(error, !failing);
    failing = true;
  };
  redis.on('error', failed);
  redis.defineCommand('relayAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('relayRenew', { numberOfKeys: 1, lua: RENEW });
  const renewals = new Set<NodeJS.Timeout>();

  return {
    async acquire(key, limits) {
      if (limits.rpm === undefined && limits.concurrency === undefined) return NOTHING_HELD;
      // {key} is a hash tag: both keys land on one Redis Cluster slot, as the script needs.
      const rate = `${prefix}{${key}}:rate`;
      const leases = `${prefix}{${key}}:leases`;
      const id = randomUUID();
      let answer: [number, number?, string?];
      try {
        answer = await redis.relayAcquire(rate, leases, limits.rpm ?? 0, limits.concurrency ?? 0, id, leaseMs, WINDOW_MS);
      } catch (error) {
        failed(error as Error);
        return NOTHING_HELD;
      }
      failing = false;
      if (answer[0] !== 1) {
        return answer[2] === 'rpm'
          ? { ok: false, retryAfterSec: retryAfterSeconds(Number(answer[1])), limit: 'rpm' }
          : { ok: false, retryAfterSec: CONCURRENCY_RETRY_SEC, limit: 'concurrency' };
      }
      if (limits.concurrency === undefined) return NOTHING_HELD;
      const renew = setInterval(() => redis.relayRenew(leases, id, leaseMs).catch(failed), leaseMs / 3);
      renew.unref();
      renewals.add(renew);
      return releaseOnce(() => {
        clearInterval(renew);
        renewals.delete(renew);
        redis.zrem(leases, id).catch(failed);
      });
    },
    async close() {
      for (const renew of renewals) clearInterval(renew);
      renewals.clear();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
