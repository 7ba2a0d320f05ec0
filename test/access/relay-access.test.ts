// Named tokens, limits, usage, metrics and passthrough, on the real relay process (issue 5):
// a tokens file holding hashes, a fake upstream on loopback, a real Redis for shared limits.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, emptyTokensFile, renderTokensFile, revokeToken, sha256Hex, type TokensFile } from '../../src/shared/tokens-file.js';
import { MODELS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { hasSystemComponent } from '../support/system-component.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';

const KEY = `sk-SENTINEL-${randomBytes(6).toString('hex')}`;
const ALICE = `alice-${randomBytes(16).toString('hex')}`;
const BOB = `bob-${randomBytes(16).toString('hex')}`;
const DAVE = `dave-${randomBytes(16).toString('hex')}`;

let upstream: FakeOpenAI;
beforeAll(async () => {
  upstream = await startFakeOpenAI();
});
afterAll(() => upstream?.close());

/** Writes the tokens file the way `relay token` does: a temp file renamed over the old one. */
async function writeTokens(path: string, file: TokensFile): Promise<void> {
  await writeFile(`${path}.tmp`, renderTokensFile(file), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

const client = (relay: RelayProcess, token: string) => new OpenAI({ apiKey: token, baseURL: `${relay.url}/v1`, maxRetries: 0 });
const modelsStatus = async (relay: RelayProcess, token: string) => (await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('named tokens', () => {
  let dir: string;
  let relay: RelayProcess;
  let tokens: TokensFile;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-access-'));
    const now = Date.now();
    tokens = addToken(addToken(emptyTokensFile(), { name: 'alice', sha256: sha256Hex(ALICE) }, now), { name: 'bob', sha256: sha256Hex(BOB), rpm: 3 }, now);
    tokens = addToken(tokens, { name: 'dave', sha256: sha256Hex(DAVE), concurrency: 1 }, now);
    await writeTokens(join(dir, 'tokens.json'), tokens);
    relay = await startRelayProcess({
      env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: upstream.url, RELAY_TOKENS_FILE: join(dir, 'tokens.json'), RELAY_DATA_DIR: join(dir, 'data') },
    });
  });
  afterAll(() => relay?.stop());

  it('are stored as hashes only', () => {
    const text = renderTokensFile(tokens);
    expect(text).not.toContain(ALICE);
    expect(text).toContain(sha256Hex(ALICE));
  });

  it("revoking one drops it at once while the other's stream goes on", async () => {
    const stream = await client(relay, ALICE).chat.completions.create({ model: MODELS.paced, stream: true, messages: [] });
    const parts: string[] = [];
    for await (const event of stream) {
      const content = event.choices[0]?.delta.content;
      if (!content) continue;
      parts.push(content);
      if (parts.length === 1) {
        // Revoke bob mid-stream; alice's stream must not notice.
        await writeTokens(join(dir, 'tokens.json'), revokeToken(tokens, 'bob', Date.now()));
        relay.child.kill('SIGHUP');
        await eventually(async () => (await modelsStatus(relay, BOB)) === 401, 5_000);
      }
    }
    expect(parts).toHaveLength(5);
    expect(await modelsStatus(relay, ALICE)).toBe(200);
    // Back for the next tests.
    await writeTokens(join(dir, 'tokens.json'), tokens);
    relay.child.kill('SIGHUP');
    await eventually(async () => (await modelsStatus(relay, BOB)) === 200, 5_000);
  });

  it('answer 429 with retry-after in the OpenAI shape past the token\'s rpm', async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${relay.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BOB}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-fake', messages: [] }),
      });
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
      else await response.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused!.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
    // Alice has no limit.
    for (let i = 0; i < 6; i++) expect(await modelsStatus(relay, ALICE)).toBe(200);
  });

  it("hold one of the token's concurrency slots per request, freed when the response ends or its client hangs up", async () => {
    // Sequential requests never overlap: a slot not given back would refuse the second one.
    const sequential: number[] = [];
    for (let i = 0; i < 3; i++) sequential.push(await modelsStatus(relay, DAVE));
    expect(sequential).toEqual([200, 200, 200]);

    const stream = await client(relay, DAVE).chat.completions.create({ model: MODELS.paced, stream: true, messages: [] });
    let whileStreaming = 0;
    for await (const _ of stream) if (whileStreaming === 0) whileStreaming = await modelsStatus(relay, DAVE);
    expect(whileStreaming).toBe(429);
    await eventually(async () => (await modelsStatus(relay, DAVE)) === 200);

    const controller = new AbortController();
    const endless = await client(relay, DAVE).chat.completions.create({ model: MODELS.endless, stream: true, messages: [] }, { signal: controller.signal });
    let received = 0;
    try {
      for await (const _ of endless) if (++received === 2) controller.abort();
    } catch {
      // An abort either ends the iteration or throws.
    }
    expect(received).toBe(2);
    await eventually(async () => (await modelsStatus(relay, DAVE)) === 200);
  });

  it('count usage per token and model as the upstream reported it, for JSON and streams', async () => {
    await client(relay, ALICE).chat.completions.create({ model: 'gpt-usage-json', messages: [] });
    const counted = await client(relay, ALICE).chat.completions.create({ model: 'gpt-usage-stream', stream: true, stream_options: { include_usage: true }, messages: [] });
    for await (const _ of counted);
    const silent = await client(relay, ALICE).chat.completions.create({ model: 'gpt-usage-stream', stream: true, messages: [] });
    for await (const _ of silent);
    // The store writes once a second.
    await eventually(() => Number(usageRows(dir, 'alice').find((row) => row.model === 'gpt-usage-stream')?.requests ?? 0) >= 2, 5_000);
    const rows = usageRows(dir, 'alice');
    const json = rows.find((row) => row.model === 'gpt-usage-json')!;
    const stream = rows.find((row) => row.model === 'gpt-usage-stream')!;
    // The fake upstream reports 11 prompt + 7 completion tokens per answer.
    expect(json).toMatchObject({ requests: 1, promptTokens: 11, completionTokens: 7, notReported: 0, errors: 0 });
    // Two streams: one asked for usage (counted), one did not (said so, not guessed).
    expect(stream).toMatchObject({ requests: 2, promptTokens: 11, completionTokens: 7, notReported: 1 });
  });

  it('serve Prometheus metrics to loopback clients, labelled by token name', async () => {
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    const families = parsePrometheusTextFormat(text) as Array<{ name: string; metrics: Array<{ labels?: Record<string, string> }> }>;
    const names = families.map((family) => family.name);
    expect(names).toEqual(expect.arrayContaining(['relay_requests_total', 'relay_request_duration_seconds']));
    const requests = families.find((family) => family.name === 'relay_requests_total')!;
    expect(requests.metrics.some((metric) => metric.labels?.token === 'alice')).toBe(true);
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain(KEY);
  });

  it('never log a token or the key', () => {
    expect(relay.output()).not.toContain(ALICE);
    expect(relay.output()).not.toContain(BOB);
    expect(relay.output()).not.toContain(DAVE);
    expect(relay.output()).not.toContain(KEY);
    expect(relay.logLines().some((line) => line.msg === 'request' && line.token === 'alice')).toBe(true);
  });
});

/** What `relay usage` reads on the host: the bundled relay's own `usage` subcommand. */
function usageRows(dir: string, token: string): Array<Record<string, number | string>> {
  const out = execFileSync(process.execPath, ['dist/relay-server.mjs', 'usage', '--since', '24h', '--json'], { env: { ...process.env, RELAY_DATA_DIR: join(dir, 'data') }, encoding: 'utf8' });
  return (JSON.parse(out) as { rows: Array<Record<string, number | string>> }).rows.filter((row) => row.token === token);
}

describe('passthrough mode', () => {
  it("forwards the client's own key untouched and stores nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-pass-'));
    const relay = await startRelayProcess({ env: { RELAY_MODE: 'passthrough', OPENAI_BASE_URL: upstream.url, RELAY_DATA_DIR: join(dir, 'data') } });
    try {
      const own = `sk-client-${randomBytes(8).toString('hex')}`;
      const answer = await client(relay, own).chat.completions.create({ model: 'gpt-fake', messages: [] });
      expect(answer.choices[0]?.message.content).toBeTruthy();
      expect(upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${own}`);
      expect((await fetch(`${relay.url}/v1/models`)).status).toBe(401);
      expect(relay.output()).not.toContain(own);
      expect(existsSync(join(dir, 'data')) ? await readdir(join(dir, 'data')) : []).toEqual([]);
    } finally {
      await relay.stop();
    }
  });
});

describe.skipIf(!hasSystemComponent('redis-server', 'redis-server'))('two relays sharing Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.stop());

  it('enforce one rpm limit between them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-redis-'));
    const token = `carol-${randomBytes(16).toString('hex')}`;
    await writeTokens(join(dir, 'tokens.json'), addToken(emptyTokensFile(), { name: 'carol', sha256: sha256Hex(token), rpm: 4 }, Date.now()));
    const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: upstream.url, RELAY_TOKENS_FILE: join(dir, 'tokens.json'), REDIS_URL: redis.url };
    const [a, b] = await Promise.all([startRelayProcess({ env }), startRelayProcess({ env })]);
    try {
      const statuses: number[] = [];
      // Alternating between the two relays, as a balancer would.
      for (let i = 0; i < 10; i++) statuses.push(await modelsStatus(i % 2 === 0 ? a : b, token));
      const passed = statuses.filter((s) => s === 200).length;
      // One shared burst of 4; separate in-memory limits would have let 8 through.
      expect(passed).toBe(4);
      expect(statuses.filter((s) => s === 429).length).toBe(6);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('a limiter store (Redis) that cannot be reached', () => {
  it('lets requests through and says so in one log line, not one per request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-redis-down-'));
    const token = `erin-${randomBytes(16).toString('hex')}`;
    await writeTokens(join(dir, 'tokens.json'), addToken(emptyTokensFile(), { name: 'erin', sha256: sha256Hex(token), rpm: 100 }, Date.now()));
    // Nothing listens on loopback's port 1.
    const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: upstream.url, RELAY_TOKENS_FILE: join(dir, 'tokens.json'), REDIS_URL: 'redis://127.0.0.1:1' };
    const relay = await startRelayProcess({ env });
    try {
      for (let i = 0; i < 3; i++) expect(await modelsStatus(relay, token)).toBe(200);
      const warnings = relay.logLines().filter((line) => String(line.msg).startsWith('limiter store (Redis) failing'));
      expect(warnings).toHaveLength(1);
    } finally {
      await relay.stop();
    }
  });
});
