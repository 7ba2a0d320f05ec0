import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import { loadProjectFile, saveProjectFile, type ProjectSettings } from '../src/project-file.js';

describe('relay.json project file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-project-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is empty when absent', async () => {
    expect(await loadProjectFile(dir)).toEqual({});
  });

  it('saves, merges and reloads settings as readable JSON, mode 644', async () => {
    await saveProjectFile(dir, { host: '203.0.113.7', user: 'ops', port: 2222 });
    const merged = await saveProjectFile(dir, { domain: 'relay.example.com', user: undefined, appDir: '/opt/relay' });
    expect(merged).toEqual({ host: '203.0.113.7', user: 'ops', port: 2222, domain: 'relay.example.com', appDir: '/opt/relay' });
    expect(await loadProjectFile(dir)).toEqual(merged);
    expect(await readFile(join(dir, 'relay.json'), 'utf8')).toMatch(/^\{\n {2}"host": "203.0.113.7",\n[\s\S]*\}\n$/);
    expect((await stat(join(dir, 'relay.json'))).mode & 0o777).toBe(0o644);
  });

  it('refuses to store anything named like a secret, or a value that is one', async () => {
    for (const settings of [{ token: 'x' }, { apiKey: 'x' }, { sshPassword: 'x' }, { domain: 'sk-abc123' }]) {
      await expect(saveProjectFile(dir, settings as ProjectSettings)).rejects.toThrow(/must not hold secrets/);
    }
    expect(await loadProjectFile(dir)).toEqual({});
  });

  it('may be committed, so it cannot name a known_hosts file or a key, nor a system directory as appDir', async () => {
    for (const [name, value, flag] of [['knownHosts', '/tmp/evil_known_hosts', '--known-hosts'], ['identity', '~/.ssh/id_ed25519', '--identity']] as const) {
      await writeFile(join(dir, 'relay.json'), JSON.stringify({ host: '203.0.113.7', [name]: value }));
      const error = await loadProjectFile(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(`"${name}"`);
      expect((error as ConfigError).fix).toContain(`remove "${name}" from`);
      expect((error as ConfigError).fix).toContain(flag);
    }
    await writeFile(join(dir, 'relay.json'), JSON.stringify({ host: '203.0.113.7', appDir: '/etc' }));
    await expect(loadProjectFile(dir)).rejects.toThrow(/app-dir|appDir/);
  });

  it('explains a broken file', async () => {
    await writeFile(join(dir, 'relay.json'), '{ "host": ');
    await expect(loadProjectFile(dir)).rejects.toThrow(ConfigError);
    await writeFile(join(dir, 'relay.json'), '{ "port": "22" }');
    await expect(loadProjectFile(dir)).rejects.toThrow('"port" must be a number');
  });
});
