// Starting, misconfiguring, failing upstreams and stopping: the relay as an operator runs it.
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS, PACED_CHUNKS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { rawRequest } from '../support/raw-http.js';
import { eventually, RELAY_BIN, startRelayProcess } from '../support/relay-process.js';

let upstream: FakeOpenAI;
beforeAll(async () => {
  upstream = await startFakeOpenAI();
});
afterAll(() => upstream?.close());

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('configuration', () => {
  it('refuses to start without OPENAI_API_KEY and says what to do', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'relay-nokey-'));
    const run = spawnSync(process.execPath, [RELAY_BIN, 'serve', '--port', '0'], { cwd, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('OPENAI_API_KEY is not set');
    expect(run.stderr).toContain('.env.local');
  });

  it('warns on every start when no relay token is set', async () => {
    for (let start = 0; start < 2; start++) {
      const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url } });
      expect(relay.output()).toMatch(/"level":"warn".*relay is OPEN/);
      await relay.stop();
    }
  });

  it('accepts OPENAI_RELAY_TOKEN as the token', async () => {
    const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_RELAY_TOKEN: 'alias-token', OPENAI_BASE_URL: upstream.url } });
    try {
      expect((await fetch(`${relay.url}/v1/models`, { headers: { authorization: 'Bearer alias-token' } })).status).toBe(200);
      expect((await fetch(`${relay.url}/v1/models`, { headers: { authorization: 'Bearer other' } })).status).toBe(401);
      expect(relay.output()).not.toContain('relay is OPEN');
    } finally {
      await relay.stop();
    }
  });

  it('reads only OPENAI_API_KEY from ./.env.local', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'relay-envlocal-'));
    await writeFile(join(cwd, '.env.local'), 'OTHER_SECRET=do-not-use\nOPENAI_API_KEY="sk-from-env-local"\nRELAY_TOKEN=not-from-here\n');
    const relay = await startRelayProcess({ cwd, env: { OPENAI_BASE_URL: upstream.url } });
    try {
      // RELAY_TOKEN in the file is not read: the relay is open, and says so.
      expect(relay.output()).toContain('relay is OPEN');
      await fetch(`${relay.url}/v1/models`);
      expect(upstream.seen.at(-1)?.headers.authorization).toBe('Bearer sk-from-env-local');
    } finally {
      await relay.stop();
    }
  });
});

describe('the bundle as the image runs it', () => {
  const distDir = join(import.meta.dirname, '../../dist');
  const version = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).version as string;
  /** `node <dir>/relay-server.mjs ...args`, as the image's build step and CMD run it. */
  const runEntry = (dir: string, args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [join(dir, 'relay-server.mjs'), ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10_000 });

  it('prints its version for `--version`, and Node keeps the compiled bundle in NODE_COMPILE_CACHE', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'relay-compile-cache-'));
    const build = runEntry(distDir, ['--version'], { NODE_COMPILE_CACHE: cache });
    expect(build.status).toBe(0);
    expect(build.stdout.trim()).toBe(version);

    // Node's own report: the bundle is loaded in a form its compile cache covers.
    const next = runEntry(distDir, ['--version'], { NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    expect(next.stdout.trim()).toBe(version);
    expect(next.stderr).toMatch(/V8 code cache for CommonJS \S*relay-core\.cjs was accepted/);
  });

  it('serves through its entry point', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'relay-compile-cache-'));
    const relay = await startRelayProcess({
      command: [join(distDir, 'relay-server.mjs')],
      env: { NODE_COMPILE_CACHE: cache, OPENAI_API_KEY: 'sk-test', RELAY_TOKEN: 'tok', OPENAI_BASE_URL: upstream.url, PORT: '0', HOST: '127.0.0.1' },
    });
    try {
      const client = new OpenAI({ apiKey: 'tok', baseURL: `${relay.url}/v1`, maxRetries: 0 });
      expect((await client.models.list()).data.map((model) => model.id)).toEqual(['gpt-fake']);
      expect(upstream.seen.at(-1)?.headers.authorization).toBe('Bearer sk-test');
    } finally {
      await relay.stop();
    }
    expect(await relay.exited).toBe(0);
  });

  it('reads the tokenizer only for count_tokens, from its own file beside the bundle', async () => {
    // The rank table is most of the tokenizer's bytes: the bundle read at every start leaves it out.
    expect(readFileSync(join(distDir, 'relay-core.cjs'), 'utf8')).not.toContain('o200k_base');
    const relay = await startRelayProcess({
      command: [join(distDir, 'relay-server.mjs')],
      env: { OPENAI_API_KEY: 'sk-test', RELAY_TOKEN: 'tok', OPENAI_BASE_URL: upstream.url, PORT: '0', HOST: '127.0.0.1', RELAY_ANTHROPIC: 'on' },
    });
    try {
      const response = await fetch(`${relay.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'x-api-key': 'tok', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'Hello, world' }] }),
      });
      // role (1) + text (3) + 3 per message, + 3 to prime the answer, as the sources count it.
      expect(await response.json()).toEqual({ input_tokens: 10 });
    } finally {
      await relay.stop();
    }
  });

  it('runs without a cache when NODE_COMPILE_CACHE is unset or cannot be written', async () => {
    expect(runEntry(distDir, ['--version'], {}).stdout.trim()).toBe(version);
    const readOnly = join(await mkdtemp(join(tmpdir(), 'relay-compile-cache-')), 'file');
    await writeFile(readOnly, '');
    const run = runEntry(distDir, ['--version'], { NODE_COMPILE_CACHE: join(readOnly, 'cache') });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});

describe('a failing upstream', () => {
  it('answers 502 in the OpenAI shape when the upstream is down, and keeps serving', async () => {
    const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', RELAY_TOKEN: 't', OPENAI_BASE_URL: `http://127.0.0.1:${await closedPort()}` } });
    try {
      const client = new OpenAI({ apiKey: 't', baseURL: `${relay.url}/v1`, maxRetries: 0 });
      await expect(client.models.list()).rejects.toMatchObject({ status: 502, code: 'upstream_unreachable', type: 'relay_error' });
      expect((await fetch(`${relay.url}/health`)).status).toBe(200);
    } finally {
      await relay.stop();
    }
  });

  it('answers 504 when the upstream sends no headers within the first-byte timeout', async () => {
    const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url, RELAY_FIRST_BYTE_TIMEOUT: '500ms' } });
    try {
      const response = await fetch(`${relay.url}/v1/hang`);
      expect(response.status).toBe(504);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    } finally {
      await relay.stop();
    }
  });
});

describe('slow clients', () => {
  it('cuts off a client that never finishes its request headers', async () => {
    const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url, RELAY_CLIENT_HEADER_TIMEOUT: '1s' } });
    try {
      const started = Date.now();
      const answer = await rawRequest(relay.port, 'GET /v1/models HTTP/1.1\r\nHost: relay.test\r\n', 10_000);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(answer).toMatch(/^(HTTP\/1\.1 408|$)/);
    } finally {
      await relay.stop();
    }
  });
});

describe('stopping on SIGTERM', () => {
  it('lets an in-flight stream finish, refuses new connections, then exits 0', async () => {
    const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url, RELAY_SHUTDOWN_GRACE: '10s' } });
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${relay.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: MODELS.paced, stream: true, messages: [] });
    const parts: string[] = [];
    let exitCode: Promise<number | null> | undefined;
    for await (const event of stream) {
      const content = event.choices[0]?.delta.content;
      if (content) parts.push(content);
      if (parts.length === 1 && !exitCode) {
        exitCode = relay.stop('SIGTERM');
        // Knock until the relay has closed its listener.
        await eventually(() => fetch(`${relay.url}/health`).then(() => false, () => true));
      }
    }
    expect(parts).toHaveLength(PACED_CHUNKS);
    expect(await exitCode).toBe(0);
  });

  it('cuts streams still running when the grace period ends', async () => {
    const relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url, RELAY_SHUTDOWN_GRACE: '300ms' } });
    const response = await fetch(`${relay.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODELS.endless, stream: true }) });
    const reader = response.body!.getReader();
    await reader.read();
    const started = Date.now();
    expect(await relay.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect((async () => { while (!(await reader.read()).done); })()).rejects.toThrow();
    expect(relay.output()).toContain('grace period over');
  });
});
