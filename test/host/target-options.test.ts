import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, HostKeyError } from '../../src/shared/errors.js';
import { addTargetOptions, openHost, type TargetOptions } from '../../src/commands/target-options.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

describe.skipIf(!sshdAvailable)('target options: flags once, relay.json after', () => {
  let sshd: TestSshd;
  let project: string;
  let knownHostsFile: string;
  beforeAll(async () => {
    sshd = await startSshd();
    project = await mkdtemp(join(tmpdir(), 'relay-project-'));
    knownHostsFile = join(sshd.dir, 'known_hosts');
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(project, { recursive: true, force: true });
  });

  it('parses the shared flags', () => {
    const cmd = addTargetOptions(new Command('logs').exitOverride());
    cmd.parse(['--host', 'ops@203.0.113.7:2222', '-i', '~/.ssh/k', '--accept-new-host-key', '-y'], { from: 'user' });
    expect(cmd.opts<TargetOptions>()).toEqual({ host: 'ops@203.0.113.7:2222', identity: '~/.ssh/k', acceptNewHostKey: true, yes: true });
  });

  it('fails without a host, naming the flag', async () => {
    const error = await openHost({ yes: true }, { cwd: project, knownHostsFile }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).fix).toContain('--host');
  });

  it('refuses an unknown host key under --yes unless --accept-new-host-key', async () => {
    const error = await openHost({ host: `${sshd.user}@127.0.0.1:${sshd.port}`, identity: sshd.clientKey, yes: true }, { cwd: project, knownHostsFile }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).fix).toContain('--accept-new-host-key');
  });

  it('connects with flags, remembers the target (never the key or known_hosts), then connects with only the key', async () => {
    const first = await openHost(
      { host: `${sshd.user}@127.0.0.1:${sshd.port}`, identity: sshd.clientKey, acceptNewHostKey: true, yes: true },
      { cwd: project, knownHostsFile },
    );
    await first.close();
    expect(JSON.parse(await readFile(join(project, 'relay.json'), 'utf8'))).toEqual({
      host: '127.0.0.1',
      user: sshd.user,
      port: sshd.port,
    });
    const second = await openHost({ identity: sshd.clientKey, yes: true }, { cwd: project, knownHostsFile });
    expect((await second.run('echo again')).stdout).toBe('again\n');
    await second.close();
  });

  it('records host keys in the given file, which relay.json does not remember', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-known-'));
    const file = join(dir, 'known_hosts');
    const first = await openHost({ host: `${sshd.user}@127.0.0.1:${sshd.port}`, identity: sshd.clientKey, acceptNewHostKey: true, knownHosts: file, yes: true }, { cwd: dir });
    await first.close();
    // One entry, hashed or not depending on the ssh config's HashKnownHosts.
    expect((await readFile(file, 'utf8')).trim().split('\n')).toEqual([expect.stringMatching(/^(\|1\||\[127\.0\.0\.1\]:)/)]);
    // A committed relay.json must not be able to point relay at a known_hosts file (or a key).
    expect(JSON.parse(await readFile(join(dir, 'relay.json'), 'utf8'))).not.toHaveProperty('knownHosts');
    expect(JSON.parse(await readFile(join(dir, 'relay.json'), 'utf8'))).not.toHaveProperty('identity');
    // The file given again already holds the key, so nothing needs accepting.
    const second = await openHost({ identity: sshd.clientKey, knownHosts: file, yes: true }, { cwd: dir });
    await second.close();
  });
});
