import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createBodyReclaimer } from '../../src/relay/body-memory.js';

/** The young-generation collections V8 reports while `run` goes on. */
async function minorCollections(run: () => void): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  run();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return seen.filter((entry) => (entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR).length;
}

describe('reclaiming streamed request bodies', () => {
  it('asks V8 for a young-generation collection once enough body has gone upstream', async () => {
    const reclaim = createBodyReclaimer(1024 * 1024);
    const below = await minorCollections(() => reclaim(64 * 1024));
    const past = await minorCollections(() => {
      for (let i = 0; i < 4 * 16; i++) reclaim(64 * 1024);
    });
    expect(below).toBe(0);
    expect(past).toBeGreaterThanOrEqual(4);
  });
});
