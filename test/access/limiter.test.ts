// The in-memory limiter: a burst of rpm requests, then one every 60/rpm seconds; concurrency slots.
import { describe, expect, it } from 'vitest';
import { createMemoryLimiter, gcra } from '../../src/relay/access/limiter.js';

describe('requests per minute', () => {
  it('lets a burst of rpm through, then refuses with the wait until the next one fits', async () => {
    let now = 1_000_000;
    const limiter = createMemoryLimiter(() => now);
    for (let i = 0; i < 3; i++) expect((await limiter.acquire('token:a', { rpm: 3 })).ok).toBe(true);
    const refused = await limiter.acquire('token:a', { rpm: 3 });
    expect(refused).toEqual({ ok: false, retryAfterSec: 20, limit: 'rpm' });
    // Other callers have their own bucket.
    expect((await limiter.acquire('token:b', { rpm: 3 })).ok).toBe(true);
    now += 20_000;
    expect((await limiter.acquire('token:a', { rpm: 3 })).ok).toBe(true);
    expect((await limiter.acquire('token:a', { rpm: 3 })).ok).toBe(false);
  });

  it('refills evenly (GCRA)', () => {
    expect(gcra(undefined, 60, 0)).toEqual({ ok: true, tat: 1000 });
    expect(gcra(60_000, 60, 0)).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(gcra(59_000, 60, 0)).toEqual({ ok: true, tat: 60_000 });
  });
});

describe('concurrent requests', () => {
  it('holds a slot until release, and a double release frees only one', async () => {
    const limiter = createMemoryLimiter();
    const first = await limiter.acquire('token:a', { concurrency: 2 });
    const second = await limiter.acquire('token:a', { concurrency: 2 });
    expect(await limiter.acquire('token:a', { concurrency: 2 })).toEqual({ ok: false, retryAfterSec: 1, limit: 'concurrency' });
    if (!first.ok || !second.ok) throw new Error('expected slots');
    first.release();
    first.release();
    const third = await limiter.acquire('token:a', { concurrency: 2 });
    expect(third.ok).toBe(true);
    expect((await limiter.acquire('token:a', { concurrency: 2 })).ok).toBe(false);
  });

  it('does not spend a request of the minute on a request refused for concurrency', async () => {
    const limiter = createMemoryLimiter(() => 0);
    const held = await limiter.acquire('token:a', { rpm: 2, concurrency: 1 });
    expect((await limiter.acquire('token:a', { rpm: 2, concurrency: 1 })).ok).toBe(false);
    if (held.ok) held.release();
    expect((await limiter.acquire('token:a', { rpm: 2, concurrency: 1 })).ok).toBe(true);
  });

  it('costs nothing for callers without limits', async () => {
    const limiter = createMemoryLimiter();
    for (let i = 0; i < 1000; i++) expect((await limiter.acquire('token:free', {})).ok).toBe(true);
    expect(limiter.callerCount()).toBe(0);
  });
});

describe('callers the limiter forgets', () => {
  it('keeps a caller whose slot is still held, however long it runs', async () => {
    let now = 0;
    const limiter = createMemoryLimiter(() => now);
    expect((await limiter.acquire('token:a', { concurrency: 1 })).ok).toBe(true);
    now = 60_000;
    expect(await limiter.acquire('token:a', { concurrency: 1 })).toEqual({ ok: false, retryAfterSec: 1, limit: 'concurrency' });
  });

  it('keeps a caller whose bucket has not refilled when a minute has passed', async () => {
    let now = 0;
    const limiter = createMemoryLimiter(() => now);
    now = 30_000;
    expect((await limiter.acquire('token:a', { rpm: 1 })).ok).toBe(true);
    now = 60_000;
    expect(await limiter.acquire('token:a', { rpm: 1 })).toEqual({ ok: false, retryAfterSec: 30, limit: 'rpm' });
  });

  it('drops idle callers once a minute, from the first request a minute after the last sweep', async () => {
    let now = 1_000_000;
    const limiter = createMemoryLimiter(() => now);
    const slot = await limiter.acquire('ip:10.0.0.1', { concurrency: 1 });
    if (!slot.ok) throw new Error('expected a slot');
    slot.release();
    // The bucket of an rpm: 1 caller refills exactly a minute on: at the sweep below.
    expect((await limiter.acquire('ip:10.0.0.2', { rpm: 1 })).ok).toBe(true);
    now += 59_999;
    expect((await limiter.acquire('ip:10.0.0.3', { concurrency: 1 })).ok).toBe(true);
    expect(limiter.callerCount()).toBe(3);
    now += 1;
    expect((await limiter.acquire('ip:10.0.0.4', { rpm: 1 })).ok).toBe(true);
    // Swept: the idle concurrency caller and the refilled bucket; kept: the slot still held, and the new caller.
    expect(limiter.callerCount()).toBe(2);
  });

  it('holds no slot for a caller limited only per minute: it is dropped once its bucket refills, response running or not', async () => {
    let now = 1_000_000;
    const limiter = createMemoryLimiter(() => now);
    expect((await limiter.acquire('ip:10.0.0.1', { rpm: 2 })).ok).toBe(true);
    now += 60_000;
    expect((await limiter.acquire('ip:10.0.0.2', { rpm: 2 })).ok).toBe(true);
    expect(limiter.callerCount()).toBe(1);
  });

  it('forgets every caller on close', async () => {
    const limiter = createMemoryLimiter(() => 0);
    expect((await limiter.acquire('token:a', { concurrency: 1 })).ok).toBe(true);
    await limiter.close();
    expect(limiter.callerCount()).toBe(0);
    expect((await limiter.acquire('token:a', { concurrency: 1 })).ok).toBe(true);
  });
});
