// `relay rotate-token` relies on this: the running relay follows its one token registry
// (RELAY_TOKENS_FILE), RELAY_TOKEN as its "default" entry, without a restart and without dropping
// a request while switching. RELAY_TOKEN in the environment stands in only while the file has no
// "default" of its own (a host not yet migrated, or `relay serve` on a laptop).
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyTokensFile, renderTokensFile, rotateToken, sha256Hex, withDefaultToken, type TokensFile } from '../../src/shared/tokens-file.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';

let upstream: FakeOpenAI;
let relay: RelayProcess;
let tokensFile: string;

const status = async (token: string) => (await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status;
const reloads = () => relay.output().split('tokens file reloaded').length - 1;

/** Writes the file the way `relay deploy` and `relay token` do: a temp file renamed over the old one. */
async function replaceTokensFile(file: TokensFile | string): Promise<void> {
  await writeFile(`${tokensFile}.tmp`, typeof file === 'string' ? file : renderTokensFile(file), { mode: 0o600 });
  await rename(`${tokensFile}.tmp`, tokensFile);
}

const withDefault = (token: string) => withDefaultToken(emptyTokensFile(), sha256Hex(token), Date.now());

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  const dir = await mkdtemp(join(tmpdir(), 'relay-tokens-'));
  tokensFile = join(dir, 'tokens.json');
  // A host not yet migrated: RELAY_TOKEN in the environment, no tokens file yet.
  relay = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-test', RELAY_TOKEN: 'first', OPENAI_BASE_URL: upstream.url, RELAY_TOKENS_FILE: tokensFile } });
});

afterAll(async () => {
  await relay?.stop();
  await upstream?.close();
});

describe('RELAY_TOKEN as the "default" entry of the tokens file', () => {
  it('takes RELAY_TOKEN from the environment while the file has no "default"', async () => {
    expect(await status('first')).toBe(200);
    expect(await status('other')).toBe(401);
  });

  it('moves to the file\'s "default" (the same token) with no failed request, then ignores the environment', async () => {
    let failures = 0;
    let sent = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        sent++;
        if ((await status('first')) !== 200) failures++;
      }
    })();
    await eventually(() => sent >= 5);
    await replaceTokensFile(withDefault('first'));
    await eventually(() => reloads() >= 1);
    const sentBefore = sent;
    await eventually(() => sent >= sentBefore + 5);
    stop = true;
    await load;
    expect(failures).toBe(0);
    // Rotated in the file: the environment's value no longer gets in.
    await replaceTokensFile(rotateToken(withDefault('first'), 'default', sha256Hex('second'), 0, Date.now()));
    await eventually(async () => (await status('first')) === 401);
    expect(await status('second')).toBe(200);
  });

  it('switches to a rotated token with no failed request, the old one accepted for the grace period', async () => {
    let failures = 0;
    let sent = 0;
    let stop = false;
    let clientToken = 'second';
    const load = (async () => {
      while (!stop) {
        sent++;
        if ((await status(clientToken)) !== 200) failures++;
      }
    })();
    await eventually(() => sent >= 5);
    const before = reloads();
    await replaceTokensFile(rotateToken(withDefault('second'), 'default', sha256Hex('third'), 300, Date.now()));
    await eventually(() => reloads() > before);
    clientToken = 'third';
    const sentBefore = sent;
    await eventually(() => sent >= sentBefore + 5);
    stop = true;
    await load;
    expect(failures).toBe(0);
    await eventually(async () => (await status('second')) === 401);
    expect(await status('third')).toBe(200);
  });

  it('reloads on SIGHUP too, and keeps its tokens when the file turns invalid', async () => {
    await writeFile(tokensFile, renderTokensFile(withDefault('fourth')));
    relay.child.kill('SIGHUP');
    await eventually(async () => (await status('fourth')) === 200);
    await replaceTokensFile('{ not json');
    await eventually(() => relay.output().includes('could not re-read the tokens file'));
    expect(await status('fourth')).toBe(200);
    expect(await status('anything')).toBe(401);
  });

  it('never logs a token', () => {
    for (const token of ['first', 'second', 'third', 'fourth']) expect(relay.output()).not.toMatch(new RegExp(`\\b${token}\\b`));
  });
});
