// Limits in Redis: two limiter instances (two relays behind one balancer) enforce one limit.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/relay/access/limiter.js';
import { createRedisLimiter } from '../../src/relay/access/redis-limiter.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { hasSystemComponent } from '../support/system-component.js';

const hasRedis = hasSystemComponent('redis-server', 'redis-server');
let redis: RedisServer;
let one: Limiter;
let two: Limiter;
const errors: Error[] = [];

beforeAll(async () => {
  if (!hasRedis) return;
  redis = await startRedisServer();
  const prefix = `test-${randomUUID()}:`;
  one = createRedisLimiter({ url: redis.url, prefix, onError: (error) => errors.push(error) });
  two = createRedisLimiter({ url: redis.url, prefix, onError: (error) => errors.push(error) });
});

afterAll(async () => {
  await one?.close();
  await two?.close();
  await redis?.stop();
});

describe.skipIf(!hasRedis)('limits shared through Redis', () => {
  it('two relays share one requests-per-minute bucket', async () => {
    const limits = { rpm: 4 };
    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await one.acquire('token:shared', limits));
      answers.push(await two.acquire('token:shared', limits));
    }
    expect(answers.map((answer) => answer.ok)).toEqual([true, true, true, true, false, false]);
    const refused = answers[4]!;
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.limit).toBe('rpm');
    expect(refused.retryAfterSec).toBeGreaterThanOrEqual(14);
    expect(refused.retryAfterSec).toBeLessThanOrEqual(15);
    expect((await one.acquire('token:other', limits)).ok).toBe(true);
  });

  it('two relays share concurrency slots, freed on release', async () => {
    const limits = { concurrency: 2 };
    const a = await one.acquire('token:conc', limits);
    const b = await two.acquire('token:conc', limits);
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(await one.acquire('token:conc', limits)).toEqual({ ok: false, retryAfterSec: 1, limit: 'concurrency' });
    if (a.ok) a.release();
    await expect.poll(async () => {
      const c = await two.acquire('token:conc', limits);
      if (c.ok) c.release();
      return c.ok;
    }).toBe(true);
  });

  it('frees the slots of a relay that died mid-request once their lease runs out', async () => {
    const prefix = `lease-${randomUUID()}:`;
    const dying = createRedisLimiter({ url: redis.url, prefix, leaseMs: 300 });
    const survivor = createRedisLimiter({ url: redis.url, prefix, leaseMs: 300 });
    try {
      const held = await dying.acquire('token:x', { concurrency: 1 });
      expect(held.ok).toBe(true);
      // Held leases are renewed while the request runs: longer than one lease, on purpose...
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await survivor.acquire('token:x', { concurrency: 1 })).ok).toBe(false);
      // ...and expire once their relay is gone.
      await dying.close();
      await expect
        .poll(async () => {
          const slot = await survivor.acquire('token:x', { concurrency: 1 });
          if (slot.ok) slot.release();
          return slot.ok;
        })
        .toBe(true);
    } finally {
      await survivor.close();
    }
  });

  it('lets requests through when Redis cannot be reached, and says so', async () => {
    const seen: Error[] = [];
    const dead = createRedisLimiter({ url: 'redis://127.0.0.1:1', onError: (error) => seen.push(error), timeoutMs: 200 });
    try {
      const started = Date.now();
      expect((await dead.acquire('token:a', { rpm: 1 })).ok).toBe(true);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      await dead.close();
    }
  });

  it('reported no errors on the healthy server', () => {
    expect(errors).toEqual([]);
  });
});
