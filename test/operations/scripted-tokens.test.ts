// New tokens from a script (no TTY): the real CLI against a real sshd on loopback, the "host" being
// a temp app directory. A new secret goes where the operator said (--save, --print, an explicit
// --env-file) as soon as the host holds it; with nowhere to go, nothing on the host changes.
// This machine runs no relay container, so the last step (telling the relay) fails after the
// host's file is written: the moment a script must not lose the value.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIR_MARKER } from '../../src/app-dir.js';
import { renderDeployEnv } from '../../src/deploy-env.js';
import { pickEnvValue } from '../../src/shared/env-local.js';
import { run, type RunResult } from '../e2e/harness/run.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

const CLI = resolve('bin/relay.js');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const OLD_DEFAULT = 'd'.repeat(64);
const OLD_CI_BOT = 'c'.repeat(64);

let sshd: TestSshd;
let work: string;
let appDir: string;

async function relay(args: string[], dir = appDir): Promise<RunResult> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: work, NO_COLOR: '1' };
  delete env.SSH_AUTH_SOCK;
  const knownHosts = join(work, 'known_hosts');
  const target = ['--host', `${sshd.user}@127.0.0.1:${sshd.port}`, '-i', sshd.clientKey, '--known-hosts', knownHosts, '--accept-new-host-key', '--yes'];
  // As the shebang does: '--' ends Node's own options (it scans argv for --env-file).
  return run(process.execPath, ['--', CLI, ...args, ...target, '--app-dir', dir], { cwd: work, env, allowFailure: true, timeoutMs: 120_000 });
}

const hostFile = (name: string) => readFile(join(appDir, name), 'utf8');
const tokensOnHost = async () => JSON.parse(await hostFile('tokens.json')) as { tokens: Array<{ name: string; sha256: string }> };
const shown = (r: RunResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  sshd = await startSshd();
  work = await mkdtemp(join(tmpdir(), 'relay-scripted-'));
  appDir = join(work, 'host-app');
  await run('mkdir', ['-p', appDir]);
  const env = renderDeployEnv({ OPENAI_API_KEY: 'sk-key', settings: { RELAY_MODELS: 'gpt-4o-mini' } });
  await writeFile(join(appDir, '.env'), env, { mode: 0o600 });
  // What `relay deploy` leaves in the app directory it created.
  await writeFile(join(appDir, APP_DIR_MARKER), '');
});

afterAll(async () => {
  await sshd?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const defaultEntry = { name: 'default', sha256: sha256(OLD_DEFAULT), created: '2026-01-01T00:00:00.000Z' };
const tokensFile = `${JSON.stringify({ version: 1, tokens: [defaultEntry, { name: 'ci-bot', sha256: sha256(OLD_CI_BOT), created: '2026-01-01T00:00:00.000Z' }] }, null, 2)}\n`;

describe.skipIf(!sshdAvailable)('a new token without a terminal', () => {

  it('is refused with neither --save nor --print, before anything on the host changes', async () => {
    await writeFile(join(appDir, 'tokens.json'), tokensFile, { mode: 0o600 });
    for (const args of [['token', 'add', 'new-bot'], ['token', 'rotate', 'ci-bot'], ['rotate-token', 'ci-bot'], ['token', 'rotate', 'default']]) {
      const r = await relay(args);
      expect(r.exitCode, shown(r)).toBe(1);
      expect(r.stderr).toMatch(/^error .*not a terminal.*nothing was changed/m);
      expect(r.stderr).toMatch(/^fix .*--save FILE.*--print/m);
      expect(await hostFile('tokens.json')).toBe(tokensFile);
    }
  }, 180_000);

  it('with --print, is the only thing on stdout, and the host keeps only its hash', async () => {
    const r = await relay(['token', 'add', 'print-bot', '--print']);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const token = r.stdout.trim();
    expect((await tokensOnHost()).tokens.find((entry) => entry.name === 'print-bot')?.sha256).toBe(sha256(token));
    expect(await hostFile('tokens.json')).not.toContain(token);
    // Telling the relay failed here; the error says the token was added, and where it is.
    expect(r.exitCode, shown(r)).toBe(1);
    expect(r.stderr).toContain('The token "print-bot" was added on the host');
    expect(r.stderr).toContain('printed on stdout');
  }, 180_000);

  it('goes to the --env-file given to rotate-token NAME, as RELAY_TOKEN_<NAME>', async () => {
    const r = await relay(['rotate-token', 'ci-bot', '--env-file', 'ci.env']);
    const saved = pickEnvValue(await readFile(join(work, 'ci.env'), 'utf8'), 'RELAY_TOKEN_CI_BOT');
    expect(saved).toMatch(/^[0-9a-f]{64}$/);
    expect((await tokensOnHost()).tokens.find((entry) => entry.name === 'ci-bot')?.sha256).toBe(sha256(saved!));
    expect(r.stdout + r.stderr).not.toContain(saved);
    expect(r.exitCode, shown(r)).toBe(1);
    expect(r.stderr).toContain('The rotation of the token "ci-bot" was applied on the host');
    expect(r.stderr).toMatch(/^fix .*in ci\.env as RELAY_TOKEN_CI_BOT.*rotates again/m);
  }, 180_000);
});

describe.skipIf(!sshdAvailable)('relay rotate-token', () => {
  it('--dry-run prints the plan and changes nothing, here or on the host', async () => {
    await writeFile(join(appDir, 'tokens.json'), tokensFile, { mode: 0o600 });
    const before = [await hostFile('.env'), await hostFile('tokens.json')];
    const r = await relay(['rotate-token', '--dry-run', '--env-file', 'dry.env']);
    expect(r.exitCode, shown(r)).toBe(0);
    expect(r.stdout).toContain('Plan (nothing is changed; the new token would be saved to dry.env as RELAY_TOKEN)');
    expect(r.stdout).toContain(`Rotate the token "default" in ${appDir}/tokens.json`);
    expect(r.stdout).toContain('docker kill --signal HUP relay');
    expect([await hostFile('.env'), await hostFile('tokens.json')]).toEqual(before);
    await expect(readFile(join(work, 'dry.env'))).rejects.toThrow(/ENOENT/);
    // "default" names RELAY_TOKEN: the same rotation, whichever command asks for it.
    for (const args of [['rotate-token', 'default', '--dry-run', '--env-file', 'dry.env'], ['token', 'rotate', 'default', '--dry-run', '--save', 'dry.env']]) {
      const named = await relay(args);
      expect(named.exitCode, shown(named)).toBe(0);
      expect(named.stdout).toContain(`Rotate the token "default" in ${appDir}/tokens.json`);
    }
  }, 180_000);

  it('relay token rotate default rotates RELAY_TOKEN in tokens.json and saves it as RELAY_TOKEN', async () => {
    await writeFile(join(appDir, 'tokens.json'), tokensFile, { mode: 0o600 });
    const r = await relay(['token', 'rotate', 'default', '--save', 'default.env']);
    const saved = pickEnvValue(await readFile(join(work, 'default.env'), 'utf8'), 'RELAY_TOKEN');
    expect(saved).toMatch(/^[0-9a-f]{64}$/);
    expect((await tokensOnHost()).tokens.find((entry) => entry.name === 'default')?.sha256).toBe(sha256(saved!));
    expect(pickEnvValue(await hostFile('.env'), 'RELAY_TOKEN')).toBeUndefined();
    expect(r.stderr).toContain('The rotation of the token "default" was applied on the host');
  }, 180_000);

  it('when a step after the switch fails, says the rotation was applied, where the token is, and that re-running rotates again', async () => {
    const r = await relay(['rotate-token', '--env-file', 'local.env']);
    expect(r.exitCode, shown(r)).toBe(1);
    const saved = pickEnvValue(await readFile(join(work, 'local.env'), 'utf8'), 'RELAY_TOKEN');
    expect(saved).toMatch(/^[0-9a-f]{64}$/);
    expect((await tokensOnHost()).tokens.find((entry) => entry.name === 'default')?.sha256).toBe(sha256(saved!));
    // Only its hash is on the host: .env holds no token at all.
    expect(pickEnvValue(await hostFile('.env'), 'RELAY_TOKEN')).toBeUndefined();
    // The operator's setting stays on the host.
    expect(pickEnvValue(await hostFile('.env'), 'RELAY_MODELS')).toBe('gpt-4o-mini');
    expect(r.stderr).toMatch(/^error The rotation of the token "default" was applied on the host, but/m);
    expect(r.stderr).toMatch(/^fix .*in local\.env as RELAY_TOKEN.*running the rotation again rotates again/m);
  }, 180_000);
});

describe.skipIf(!sshdAvailable)('an app directory relay did not create', () => {
  it('is refused by every command that writes there, before anything in it changes', async () => {
    const theirs = join(work, 'their-app');
    await mkdir(theirs);
    await writeFile(join(theirs, '.env'), `RELAY_TOKEN=${OLD_DEFAULT}\n`, { mode: 0o600 });
    for (const args of [['rotate-token', '--env-file', 'theirs.env'], ['token', 'add', 'new-bot', '--print'], ['token', 'revoke', 'ci-bot'], ['restart']]) {
      const r = await relay(args, theirs);
      expect(r.exitCode, shown(r)).toBe(1);
      expect(r.stderr).toMatch(/^error .*their-app on .* already exists and relay did not create it/m);
      expect(r.stderr).toMatch(/^fix .*--app-dir/m);
      expect(r.stdout).toBe('');
      expect((await readdir(theirs)).sort()).toEqual(['.env']);
      expect(await readFile(join(theirs, '.env'), 'utf8')).toBe(`RELAY_TOKEN=${OLD_DEFAULT}\n`);
    }
    await expect(readFile(join(work, 'theirs.env'))).rejects.toThrow(/ENOENT/);
  }, 180_000);
});
