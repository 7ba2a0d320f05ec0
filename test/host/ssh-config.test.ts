import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { parseSshG, resolveSshSettings, settingsFromSshG } from '../../src/host/ssh-config.js';

describe('ssh_config resolution', () => {
  let dir: string;
  let config: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-sshconfig-'));
    config = join(dir, 'config');
    await writeFile(
      config,
      ['Host myvps', '  HostName 203.0.113.7', '  User ops', '  Port 2200', '  IdentityFile ~/.ssh/relay_key', `  UserKnownHostsFile ${join(dir, 'kh')}`, ''].join('\n'),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('follows an alias to its HostName, User, Port and IdentityFile like `ssh myvps` would', async () => {
    const settings = await resolveSshSettings({ host: 'myvps' }, { configFile: config });
    expect(settings).toMatchObject({
      hostName: '203.0.113.7',
      user: 'ops',
      port: 2200,
      identityFiles: [join(homedir(), '.ssh', 'relay_key')],
      knownHostsFiles: [join(dir, 'kh')],
    });
  });

  it('lets flags win over the config', async () => {
    const settings = await resolveSshSettings({ host: 'myvps', user: 'root', port: 22 }, { configFile: config, identity: '/keys/id', knownHostsFile: '/kh' });
    expect(settings).toMatchObject({ hostName: '203.0.113.7', user: 'root', port: 22, identityFiles: ['/keys/id'], knownHostsFiles: ['/kh'] });
  });

  it('defaults to root on port 22 for a host the config does not mention', async () => {
    const settings = await resolveSshSettings({ host: '198.51.100.4' }, { configFile: config });
    expect(settings).toMatchObject({ hostName: '198.51.100.4', user: 'root', port: 22 });
    expect(settings.identityFiles).toContain(join(homedir(), '.ssh', 'id_ed25519'));
  });

  it('parses ssh -G output and refuses proxies it cannot follow', () => {
    const parsed = parseSshG('user alice\nhostname h\nport 22\nidentityfile ~/.ssh/a\nidentityfile ~/.ssh/b\nuserknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2\n');
    const settings = settingsFromSshG(parsed, parseSshG('user alice\n'));
    expect(settings.user).toBe('root');
    expect(settings.identityFiles).toEqual([join(homedir(), '.ssh', 'a'), join(homedir(), '.ssh', 'b')]);
    expect(settings.knownHostsFiles).toEqual([join(homedir(), '.ssh', 'known_hosts'), join(homedir(), '.ssh', 'known_hosts2')]);
    expect(() => settingsFromSshG(parseSshG('hostname h\nproxyjump bastion\n'))).toThrow(ConfigError);
  });
});
