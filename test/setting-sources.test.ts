// Relay settings whose values stay out of argv, so out of `ps`, shell history and CI logs
// (issue 15, point 10): `--set-from-env KEY` reads the operator's environment, `--generate KEY`
// makes a random secret. Both feed the same settings `--set` writes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import { loadRelayConfig } from '../src/relay/config.js';
import { generateSettings, GENERATED_SETTINGS, secretsOnCommandLine, settingsFromEnvironment } from '../src/setting-sources.js';

const SECRET = 'redis-pass-SENTINEL-71c2';

describe('--set-from-env KEY', () => {
  it('takes the value of KEY from the environment, as --set KEY=VALUE would', () => {
    expect(settingsFromEnvironment(['REDIS_URL', 'RELAY_METRICS_TOKEN'], { REDIS_URL: `redis://:${SECRET}@10.0.0.5:6379`, RELAY_METRICS_TOKEN: 'm'.repeat(32) })).toEqual([
      `REDIS_URL=redis://:${SECRET}@10.0.0.5:6379`,
      `RELAY_METRICS_TOKEN=${'m'.repeat(32)}`,
    ]);
  });

  it('refuses a variable that is unset or empty, with a fix that keeps the value out of history', () => {
    for (const env of [{}, { RELAY_METRICS_TOKEN: '' }]) {
      expect(() => settingsFromEnvironment(['RELAY_METRICS_TOKEN'], env)).toThrow(
        expect.objectContaining({
          message: '--set-from-env RELAY_METRICS_TOKEN: RELAY_METRICS_TOKEN is not set (or empty) in this environment.',
          fix: 'Export it first without typing it on a command line, e.g. `read -rs RELAY_METRICS_TOKEN && export RELAY_METRICS_TOKEN`, or in CI from the secret store.',
        }),
      );
    }
  });

  it('refuses a name that is not a relay setting before reading anything', () => {
    expect(() => settingsFromEnvironment(['OPENAI_API_KEY'], { OPENAI_API_KEY: 'sk-x' })).toThrow(ConfigError);
    expect(() => settingsFromEnvironment(['OPENAI_API_KEY'], { OPENAI_API_KEY: 'sk-x' })).toThrow('OPENAI_API_KEY is not a relay setting');
  });
});

describe('--generate KEY', () => {
  it('makes secrets the relay accepts: a 64-hex metrics token, an Ollama path ending in 32 hex', () => {
    const { settings, generated } = generateSettings(['RELAY_METRICS_TOKEN', 'RELAY_OLLAMA_PATH'], {});
    expect(generated).toEqual(['RELAY_METRICS_TOKEN', 'RELAY_OLLAMA_PATH']);
    expect(settings.RELAY_METRICS_TOKEN).toMatch(/^[0-9a-f]{64}$/);
    expect(settings.RELAY_OLLAMA_PATH).toMatch(/^\/[0-9a-f]{32}$/);
    // What the relay itself would make of them.
    const config = loadRelayConfig({ OPENAI_API_KEY: 'sk-x', RELAY_TOKEN: 't'.repeat(32), ...settings });
    expect(config.ollamaPath).toBe(settings.RELAY_OLLAMA_PATH);
    expect(generateSettings(['RELAY_METRICS_TOKEN'], {}).settings.RELAY_METRICS_TOKEN).not.toBe(settings.RELAY_METRICS_TOKEN);
  });

  it('keeps a value the host already has, so a re-run changes nothing (--unset KEY --generate KEY replaces it)', () => {
    expect(generateSettings(['RELAY_METRICS_TOKEN'], { RELAY_METRICS_TOKEN: 'kept-value-0123456789' })).toEqual({ settings: { RELAY_METRICS_TOKEN: 'kept-value-0123456789' }, generated: [] });
  });

  it('generates only secrets: anything else is refused with the list', () => {
    expect(Object.keys(GENERATED_SETTINGS)).toEqual(['RELAY_METRICS_TOKEN', 'RELAY_OLLAMA_PATH']);
    expect(() => generateSettings(['RELAY_MODELS'], {})).toThrow(expect.objectContaining({ message: '--generate RELAY_MODELS: relay generates only RELAY_METRICS_TOKEN, RELAY_OLLAMA_PATH.' }));
  });
});

describe('a secret given with --set', () => {
  it('is named, so the command can point at the ways that keep it out of argv', () => {
    expect(secretsOnCommandLine(['RELAY_MODELS=gpt-4o-mini', `RELAY_METRICS_TOKEN=${SECRET}`, 'RELAY_OLLAMA_PATH=/abc', 'REDIS_URL=redis://10.0.0.5:6379', `REDIS_URL=redis://:${SECRET}@10.0.0.5`, 'HTTP_PROXY=http://10.0.0.9:3128', `HTTPS_PROXY=http://u:${SECRET}@10.0.0.9:3128`])).toEqual([
      'RELAY_METRICS_TOKEN',
      'RELAY_OLLAMA_PATH',
      'REDIS_URL',
      'HTTPS_PROXY',
    ]);
  });
});

describe('relay deploy --dry-run with --set-from-env and --generate', () => {
  async function project(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'relay-setting-sources-'));
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-dry-run\n');
    return dir;
  }
  const relay = (dir: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [resolve('bin/relay.js'), 'deploy', '--dry-run', '--host', 'root@203.0.113.7', '--yes', ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NO_COLOR: '1', ...env } });

  it('reads the value from the environment and never prints it', async () => {
    const r = relay(await project(), ['--set-from-env', 'REDIS_URL'], { REDIS_URL: `redis://:${SECRET}@10.0.0.5:6379` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('takes an outbound proxy with --set and never prints its credentials, even with --show-files', async () => {
    const r = relay(await project(), ['--show-files', '--set', `HTTPS_PROXY=http://relay:${SECRET}@proxy.internal:3128`, '--set', 'NO_PROXY=localhost,.internal']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('HTTPS_PROXY=http://***@proxy.internal:3128');
    expect(r.stdout).toContain('NO_PROXY=localhost,.internal');
    expect(r.stderr).toContain('HTTPS_PROXY given with --set is visible in ps and shell history: use --set-from-env HTTPS_PROXY.');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('refuses a proxy that is not an http(s) URL before anything else', async () => {
    const r = relay(await project(), ['--set', 'HTTP_PROXY=socks5://127.0.0.1:1080']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('HTTP_PROXY must be an http:// or https:// proxy');
  });

  it('refuses an unset variable before anything else, with error and fix lines', async () => {
    const r = relay(await project(), ['--set-from-env', 'REDIS_URL'], { REDIS_URL: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--set-from-env REDIS_URL: REDIS_URL is not set (or empty) in this environment.');
    expect(r.stderr).toMatch(/fix/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('warns that a secret given with --set is visible, and names the ways around it', async () => {
    const r = relay(await project(), ['--set', `RELAY_METRICS_TOKEN=${SECRET}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('RELAY_METRICS_TOKEN given with --set is visible in ps and shell history: use --set-from-env RELAY_METRICS_TOKEN or --generate RELAY_METRICS_TOKEN.');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('with --generate changes nothing on this machine (a dry run saves nothing)', async () => {
    const dir = await project();
    const r = relay(dir, ['--generate', 'RELAY_METRICS_TOKEN']);
    expect(r.status, r.stderr).toBe(0);
    expect(await readFile(join(dir, '.env.local'), 'utf8')).toBe('OPENAI_API_KEY=sk-dry-run\n');
  });

  it('documents both in --help', () => {
    const help = execFileSync(process.execPath, [resolve('bin/relay.js'), 'deploy', '--help'], { encoding: 'utf8' });
    expect(help).toContain('--set-from-env <KEY>');
    expect(help).toContain('--generate <KEY>');
  });
});
