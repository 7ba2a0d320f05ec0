import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDeployEnv, readLocalApiKey, relaySettings, renderDeployEnv } from '../src/deploy-env.js';
import { ConfigError } from '../src/shared/errors.js';

const KEY = 'sk-test-SENTINEL-4f1c9e';
const OTHER = 'OTHER_SECRET=do-not-ship-7d2a';

async function envLocal(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-deploy-env-'));
  const path = join(dir, '.env.local');
  await writeFile(path, text);
  return path;
}

function keysOf(envText: string): string[] {
  return envText
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.slice(0, l.indexOf('=')));
}

describe("the host's .env", () => {
  it('holds only OPENAI_API_KEY, taken from .env.local: no RELAY_TOKEN (its hash lives in tokens.json)', async () => {
    const path = await envLocal(`# mine\n${OTHER}\nOPENAI_API_KEY=${KEY}\nRELAY_TOKEN=${'f'.repeat(64)}\nDATABASE_URL=postgres://x\n`);
    const text = renderDeployEnv(buildDeployEnv({ apiKey: await readLocalApiKey(path) }));
    expect(keysOf(text)).toEqual(['OPENAI_API_KEY']);
    expect(text).toContain(`OPENAI_API_KEY=${KEY}\n`);
    expect(text).not.toContain('f'.repeat(64));
    expect(text).not.toContain('OTHER_SECRET');
    expect(text).not.toContain('do-not-ship');
    expect(text).not.toContain('DATABASE_URL');
  });

  it('adds OPENAI_BASE_URL only when one is given', () => {
    const text = renderDeployEnv(buildDeployEnv({ apiKey: KEY, baseUrl: 'http://172.17.0.1:4010' }));
    expect(keysOf(text)).toEqual(['OPENAI_API_KEY', 'OPENAI_BASE_URL']);
    expect(text).toContain('OPENAI_BASE_URL=http://172.17.0.1:4010\n');
    expect(() => buildDeployEnv({ apiKey: KEY, baseUrl: 'ftp://x' })).toThrow(ConfigError);
  });

  it('is the same bytes for the same values, so a re-deploy changes nothing', () => {
    const env = buildDeployEnv({ apiKey: KEY });
    expect(renderDeployEnv(env)).toBe(renderDeployEnv({ ...env }));
  });

  it('refuses values the env_file format cannot carry, without echoing them', () => {
    for (const bad of ['sk-with space', 'sk-"q"', 'sk-$HOME', 'sk-#x', 'sk-new\nline']) {
      let error: unknown;
      try {
        renderDeployEnv({ OPENAI_API_KEY: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain(bad);
    }
  });

  it('fails with the flag to fix when .env.local has no key', async () => {
    const path = await envLocal(`${OTHER}\n`);
    await expect(readLocalApiKey(path)).rejects.toThrow(/No OPENAI_API_KEY in .*\.env\.local/);
    await expect(readLocalApiKey(join(tmpdir(), 'no-such-dir-relay', '.env.local'))).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('relay settings (deploy --set / --unset)', () => {
  it('keeps the settings already on the host, sets and unsets by name, refuses anything else', () => {
    const onHost = renderDeployEnv({ OPENAI_API_KEY: 'sk-a', settings: { RELAY_MODELS: 'gpt-4o-mini', REDIS_URL: 'redis://10.0.0.5:6379' } });
    expect(relaySettings(onHost, ['RELAY_CORS_ORIGINS=https://app.example.com'], ['REDIS_URL'])).toEqual({ RELAY_MODELS: 'gpt-4o-mini', RELAY_CORS_ORIGINS: 'https://app.example.com' });
    expect(() => relaySettings(onHost, ['OPENAI_API_KEY=sk-other'])).toThrow('OPENAI_API_KEY is not a relay setting');
    expect(() => relaySettings(onHost, ['RELAY_MODELS'])).toThrow('expected KEY=VALUE');
    expect(() => relaySettings(onHost, ['RELAY_MODELS=has space'])).toThrow(ConfigError);
  });

  it('turns the dump on (RELAY_DUMP=bodies) and back off, refusing a value the relay would refuse', () => {
    const onHost = renderDeployEnv({ OPENAI_API_KEY: 'sk-a', settings: { RELAY_MODELS: 'gpt-4o-mini' } });
    const on = relaySettings(onHost, ['RELAY_DUMP=bodies', 'RELAY_DUMP_MAX_BODY=16384']);
    expect(on).toEqual({ RELAY_MODELS: 'gpt-4o-mini', RELAY_DUMP: 'bodies', RELAY_DUMP_MAX_BODY: '16384' });
    const dumping = renderDeployEnv({ OPENAI_API_KEY: 'sk-a', settings: on });
    const lines = ['OPENAI_API_KEY=sk-a', 'RELAY_DUMP=bodies', 'RELAY_DUMP_MAX_BODY=16384', 'RELAY_MODELS=gpt-4o-mini', ''];
    expect(dumping.split('\n').slice(1)).toEqual(lines);
    // The next deploy keeps it on; `--set RELAY_DUMP=off` turns it off, the cap stays for next time.
    expect(relaySettings(dumping)).toEqual(on);
    expect(relaySettings(dumping, ['RELAY_DUMP=off'])).toEqual({ ...on, RELAY_DUMP: 'off' });
    expect(relaySettings(dumping, [], ['RELAY_DUMP', 'RELAY_DUMP_MAX_BODY'])).toEqual({ RELAY_MODELS: 'gpt-4o-mini' });
    expect(() => relaySettings(onHost, ['RELAY_DUMP=yes'])).toThrow('RELAY_DUMP must be off, headers or bodies; got "yes"');
    expect(() => relaySettings(onHost, ['RELAY_DUMP=bodies', 'RELAY_DUMP_MAX_BODY=64k'])).toThrow(/^RELAY_DUMP_MAX_BODY must be a whole number of bytes/);
  });

  it('writes them after the fixed keys, sorted, so an unchanged deploy writes the same bytes', () => {
    const text = renderDeployEnv({ OPENAI_API_KEY: 'sk-a', settings: { RELAY_MODELS: 'a,b=c', RELAY_CORS_ORIGINS: '*' } });
    expect(text.split('\n').slice(1)).toEqual(['OPENAI_API_KEY=sk-a', 'RELAY_CORS_ORIGINS=*', 'RELAY_MODELS=a,b=c', '']);
  });
});
