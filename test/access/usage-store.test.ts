// The usage store: node:sqlite in RELAY_DATA_DIR, per token and model, surviving a restart, and
// readable by the bundle's `usage` subcommand while the relay runs.
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUsageArgs, runUsageCommand } from '../../src/relay/access/usage-command.js';
import { openUsageStore } from '../../src/relay/access/usage-store.js';

const HOUR = 3_600_000;
const base = { bytesIn: 100, bytesOut: 1000, error: false };

describe('the usage store', () => {
  it('sums requests, tokens, errors and bytes per token and model, and survives a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-usage-'));
    const now = Date.now();
    const store = await openUsageStore(dir);
    store.record({ ...base, token: 'alice', model: 'gpt-a', at: now - 2 * HOUR, usage: { prompt: 10, completion: 5 } });
    store.record({ ...base, token: 'alice', model: 'gpt-a', at: now, usage: { prompt: 1, completion: 2 } });
    store.record({ ...base, token: 'alice', model: 'gpt-a', at: now, usage: 'not_reported' });
    store.record({ ...base, token: 'bob', model: undefined, at: now, usage: undefined, error: true });
    store.record({ ...base, token: 'old', model: 'gpt-a', at: now - 48 * HOUR, usage: { prompt: 99, completion: 99 } });
    store.close();

    const again = await openUsageStore(dir);
    const day = again.summary({ since: now - 24 * HOUR });
    expect(day.rows).toEqual([
      { token: 'alice', model: 'gpt-a', requests: 3, errors: 0, promptTokens: 11, completionTokens: 7, notReported: 1, bytesIn: 300, bytesOut: 3000 },
      { token: 'bob', model: '', requests: 1, errors: 1, promptTokens: 0, completionTokens: 0, notReported: 0, bytesIn: 100, bytesOut: 1000 },
    ]);
    expect(day.lastUsed).toEqual({ alice: new Date(now).toISOString(), bob: new Date(now).toISOString(), old: new Date(now - 48 * HOUR).toISOString() });
    expect(again.summary({ since: now - 10 * 60_000 }).rows[0]).toMatchObject({ token: 'alice', requests: 2 });
    again.close();
  });

  it('writes a recorded request once, however often it flushes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-usage-'));
    // No timer flush during the test: only the explicit ones below.
    const store = await openUsageStore(dir, { flushMs: 3_600_000 });
    store.record({ ...base, token: 'alice', model: 'gpt-a', at: Date.now(), usage: { prompt: 3, completion: 4 } });
    store.flush();
    store.flush();
    store.close();
    const again = await openUsageStore(dir);
    expect(again.summary({ since: Date.now() - HOUR }).rows).toEqual([
      { token: 'alice', model: 'gpt-a', requests: 1, errors: 0, promptTokens: 3, completionTokens: 4, notReported: 0, bytesIn: 100, bytesOut: 1000 },
    ]);
    again.close();
  });

  it('is read by the usage subcommand while the writer keeps it open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-usage-'));
    const store = await openUsageStore(dir);
    store.record({ ...base, token: 'alice', model: 'gpt-a', at: Date.now(), usage: { prompt: 3, completion: 4 } });
    store.flush();
    let out = '';
    expect(await runUsageCommand(['--since', '1h', '--json'], { RELAY_DATA_DIR: dir }, (text) => (out += text))).toBe(0);
    const report = JSON.parse(out);
    expect(report.rows).toEqual([expect.objectContaining({ token: 'alice', model: 'gpt-a', promptTokens: 3, completionTokens: 4 })]);
    expect(Object.keys(report.lastUsed)).toEqual(['alice']);
    store.close();
  });

  it('reports an empty store, and explains a relay without RELAY_DATA_DIR', async () => {
    let out = '';
    expect(await runUsageCommand(['--json'], { RELAY_DATA_DIR: await mkdtemp(join(tmpdir(), 'relay-usage-')) }, (text) => (out += text))).toBe(0);
    expect(JSON.parse(out).rows).toEqual([]);
    out = '';
    expect(await runUsageCommand(['--json'], {}, (text) => (out += text))).toBe(2);
    expect(JSON.parse(out).error).toMatch(/RELAY_DATA_DIR/);
    expect(parseUsageArgs(['--since=30m'])).toEqual({ sinceMs: 1_800_000, json: false });
    expect(() => parseUsageArgs(['--bogus'])).toThrow(/unknown argument/);
  });

  it('needs no flag for node:sqlite on this Node', () => {
    expect(execFileSync(process.execPath, ['-e', "require('node:sqlite'); process.stdout.write('ok')"], { stdio: ['ignore', 'pipe', 'pipe'] }).toString()).toBe('ok');
  });
});
