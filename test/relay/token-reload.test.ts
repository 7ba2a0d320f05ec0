// `relay rotate-token` relies on this: the running relay picks up new tokens from RELAY_ENV_FILE
// without a restart, and never drops a request while switching.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';

let upstream: FakeOpenAI;
let relay: RelayProcess;
let envFile: string;

const status = async (token: string) => (await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status;

/** Writes the file the way deploy does: a temp file renamed over the old one. */
async function replaceEnvFile(text: string): Promise<void> {
  await writeFile(`${envFile}.tmp`, text, { mode: 0o600 });
  await rename(`${envFile}.tmp`, envFile);
}

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  const dir = await mkdtemp(join(tmpdir(), 'relay-tokens-'));
  envFile = join(dir, '.env');
  await replaceEnvFile('OPENAI_API_KEY=sk-ignored-here\nRELAY_TOKEN=first\n');
  // The env token is what the container started with; the file is newer and wins.
  relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', RELAY_TOKEN: 'stale-env-token', OPENAI_BASE_URL: upstream.url, RELAY_ENV_FILE: envFile } });
});

afterAll(async () => {
  await relay?.stop();
  await upstream?.close();
});

describe('live token reload from RELAY_ENV_FILE', () => {
  it('starts with the token in the file', async () => {
    expect(await status('first')).toBe(200);
    expect(await status('stale-env-token')).toBe(401);
  });

  it('switches to a new token when the file is replaced, with no failed request in between', async () => {
    let failures = 0;
    let sent = 0;
    let stop = false;
    // A steady stream of requests with whichever token is current for the client.
    let clientToken = 'first';
    const load = (async () => {
      while (!stop) {
        sent++;
        const code = await status(clientToken);
        if (code !== 200) failures++;
      }
    })();
    await eventually(() => sent >= 5);
    await replaceEnvFile('OPENAI_API_KEY=sk-ignored-here\nRELAY_TOKEN=second\nRELAY_TOKEN_PREVIOUS=first\nRELAY_TOKEN_PREVIOUS_UNTIL=2999-01-01T00:00:00Z\n');
    await eventually(() => relay.output().includes('tokens reloaded'));
    clientToken = 'second';
    const sentBefore = sent;
    await eventually(() => sent >= sentBefore + 5);
    stop = true;
    await load;
    expect(sent).toBeGreaterThan(5);
    expect(failures).toBe(0);
    // The old token still works during its grace period.
    expect(await status('first')).toBe(200);
  });

  it('drops the previous token once its grace period is over', async () => {
    await replaceEnvFile(`RELAY_TOKEN=second\nRELAY_TOKEN_PREVIOUS=first\nRELAY_TOKEN_PREVIOUS_UNTIL=${new Date(Date.now() + 300).toISOString()}\n`);
    await eventually(() => relay.output().split('tokens reloaded').length > 2);
    expect(await status('first')).toBe(200);
    await eventually(async () => (await status('first')) === 401);
    expect(await status('second')).toBe(200);
  });

  it('reloads on SIGHUP too, and keeps its tokens when the file names none', async () => {
    await writeFile(envFile, 'RELAY_TOKEN=third\n');
    relay.child.kill('SIGHUP');
    await eventually(() => relay.output().split('tokens reloaded').length > 3);
    expect(await status('third')).toBe(200);
    await replaceEnvFile('OPENAI_API_KEY=only-a-key\n');
    await eventually(() => relay.output().includes('names no RELAY_TOKEN'));
    expect(await status('third')).toBe(200);
    expect(await status('anything')).toBe(401);
  });

  it('never logs a token', () => {
    for (const token of ['first', 'second', 'third', 'stale-env-token']) expect(relay.output()).not.toMatch(new RegExp(`\\b${token}\\b`));
  });
});
