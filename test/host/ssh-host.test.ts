import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostKeyError, SshError } from '../../src/shared/errors.js';
import { connectHost, type ConnectOptions } from '../../src/host/connect.js';
import type { Host } from '../../src/host/host.js';
import { keygenFingerprint, sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

// writeFile as a non-root login goes through sudo -n: run as root, or with passwordless sudo.
const owner = `${userInfo().username}:${process.getgid?.() ?? 0}`;

/** Logs in to the test sshd with its client key and no agent, trusting keys as `knownHosts` says. */
function connectTo(sshd: TestSshd, knownHosts: string, extra: Partial<ConnectOptions>): Promise<Host> {
  return connectHost({
    target: `${sshd.user}@127.0.0.1:${sshd.port}`,
    identity: sshd.clientKey,
    knownHostsFile: knownHosts,
    agentSocket: '',
    timeoutMs: 10_000,
    ...extra,
  });
}

describe.skipIf(!sshdAvailable)('SSH host against a real sshd', () => {
  let sshd: TestSshd;
  let knownHosts: string;
  const connect = (extra: Partial<ConnectOptions> = {}): Promise<Host> => connectTo(sshd, knownHosts, extra);

  beforeAll(async () => {
    sshd = await startSshd();
    knownHosts = join(sshd.dir, 'client-ssh', 'known_hosts');
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  describe('host key trust', () => {
    it('asks about an unknown key with the fingerprint ssh-keygen prints, then records it', async () => {
      const asked: Array<[string, string]> = [];
      const host = await connect({
        confirmNewHostKey: async (fingerprint, keyType) => {
          asked.push([fingerprint, keyType]);
          return true;
        },
      });
      await host.close();
      expect(asked).toEqual([[keygenFingerprint(`${sshd.hostKeyPath}.pub`), 'ssh-ed25519']]);
      // Hashed or plain as ssh_config's HashKnownHosts says; either way one ed25519 line.
      expect((await readFile(knownHosts, 'utf8')).trim().split('\n')).toEqual([expect.stringContaining(' ssh-ed25519 ')]);
      expect((await stat(knownHosts)).mode & 0o777).toBe(0o600);
      expect((await stat(join(sshd.dir, 'client-ssh'))).mode & 0o777).toBe(0o700);
      // OpenSSH agrees with what we wrote.
      const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', knownHosts], { encoding: 'utf8' });
      expect(found).toContain('ssh-ed25519');
    });

    it('connects silently once the key is known', async () => {
      const host = await connect({
        confirmNewHostKey: async () => {
          throw new Error('must not ask');
        },
      });
      expect((await host.run('echo ok')).stdout).toBe('ok\n');
      await host.close();
    });

    it('refuses an unknown key when nobody may confirm it, naming the flag', async () => {
      const error = await connect({ knownHostsFile: join(sshd.dir, 'empty_known_hosts') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyError);
      expect((error as HostKeyError).message).toContain(keygenFingerprint(`${sshd.hostKeyPath}.pub`));
      expect((error as HostKeyError).fix).toContain('--accept-new-host-key');
    });
  });

  describe('commands', () => {
    let host: Host;
    beforeAll(async () => {
      // Trusts the key itself, so these run without the trust tests above (vitest -t).
      host = await connect({ confirmNewHostKey: async () => true });
    });
    afterAll(async () => {
      await host?.close();
    });

    it('runs commands and reports exit codes and stderr', async () => {
      const result = await host.run('echo out; echo err >&2; exit 3');
      expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
    });

    it('feeds stdin to the command (how secrets travel)', async () => {
      const secret = 'sk-relay-sentinel-' + 'x'.repeat(40);
      const result = await host.run('cat', { stdin: `${secret}\n` });
      expect(result.stdout).toBe(`${secret}\n`);
      const binary = Buffer.from([0, 1, 2, 255, 10, 39, 34]);
      expect((await host.run('od -An -tx1', { stdin: binary })).stdout.trim()).toBe('00 01 02 ff 0a 27 22');
    });

    it('reuses one connection for many quick commands, in parallel too', async () => {
      // sshd logs one "Accepted publickey" per connection (LogLevel VERBOSE), this host's included.
      const logins = () => sshd.log().split('Accepted publickey').length - 1;
      await expect.poll(logins, { timeout: 10_000 }).toBeGreaterThan(0);
      const before = logins();
      // More than the host's 8 channels at once: some wait for a free one on the same connection.
      const results = await Promise.all(Array.from({ length: 12 }, (_, index) => host.run(`echo ${index}`)));
      expect(results.map((result) => result.stdout.trim())).toEqual(Array.from({ length: 12 }, (_, index) => String(index)));
      expect(logins()).toBe(before);
      // Under load (2 cores, load 15) one command takes seconds: what is tested is the one connection, not speed.
    }, 120_000);

    it('runs in a working directory', async () => {
      expect((await host.run('pwd', { cwd: sshd.dir })).stdout.trim()).toBe(sshd.dir);
    });

    it('writes a file atomically with mode and owner, creating its directory', async () => {
      const path = join(sshd.dir, 'etc', 'relay', 'env');
      const content = "OPENAI_API_KEY=sk-it's $(not) `run`\n";
      await host.writeFile({ path, content, mode: '0640', owner });
      expect(await readFile(path, 'utf8')).toBe(content);
      expect((await stat(path)).mode & 0o7777).toBe(0o640);
      expect((await stat(path)).uid).toBe(process.getuid?.());
      await host.writeFile({ path, content: 'second\n', mode: '0600', owner });
      expect(await readFile(path, 'utf8')).toBe('second\n');
      expect((await stat(path)).mode & 0o7777).toBe(0o600);
      // Nothing left behind by the temp-file-and-rename.
      expect(execFileSync('ls', ['-A', join(sshd.dir, 'etc', 'relay')], { encoding: 'utf8' })).toBe('env\n');
    });

    it('uploads a local file into place', async () => {
      const source = join(sshd.dir, 'artifact.bin');
      execFileSync('sh', ['-c', `head -c 300000 /dev/urandom > ${source}`]);
      const target = join(sshd.dir, 'opt', 'relay', 'artifact.bin');
      await host.uploadFile(source, { path: target, mode: '0644', owner });
      expect((await readFile(target)).equals(await readFile(source))).toBe(true);
      expect((await stat(target)).mode & 0o777).toBe(0o644);
    });

    it('streams output and ends the remote command when aborted', async () => {
      // Longer than the test's timeout: only the abort, sent once output streamed, can end it in time.
      const marker = `300.${process.pid}`;
      const controller = new AbortController();
      const chunks: string[] = [];
      let streamedBeforeAbort: string | undefined;
      const code = await host.stream(`echo started; sleep ${marker}; echo never`, {
        signal: controller.signal,
        onStdout: (chunk) => {
          chunks.push(chunk.toString());
          if (chunk.toString().includes('started')) {
            setTimeout(() => {
              streamedBeforeAbort = chunks.join('');
              controller.abort();
            }, 200);
          }
        },
      });
      expect(code).toBeNull();
      expect(streamedBeforeAbort).toBe('started\n');
      expect(chunks.join('')).toBe('started\n');
      // The remote sleep is gone, not orphaned.
      await expect
        .poll(
          () => {
            try {
              execFileSync('pgrep', ['-f', `sleep ${marker}`]);
              return 'still running';
            } catch {
              return 'gone';
            }
          },
          { timeout: 30_000 },
        )
        .toBe('gone');
      // Well under the sleep: the command cannot end on its own before this test times out.
    }, 90_000);

    it('streams to completion and returns the exit code', async () => {
      let out = '';
      const code = await host.stream('printf a; printf b; exit 4', { onStdout: (chunk) => (out += chunk.toString()) });
      expect(code).toBe(4);
      expect(out).toBe('ab');
    });
  });

  describe('failures name what to do', () => {
    it('says which user and keys were refused', async () => {
      const error = await connect({ identity: sshd.strangerKey }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SshError);
      expect((error as SshError).message).toContain(`refused the login as ${sshd.user}`);
      expect((error as SshError).message).toContain(sshd.strangerKey);
      expect((error as SshError).fix).toMatch(/--identity.*ssh-copy-id/);
    });

    it('names host and port when nothing listens', async () => {
      const error = await connect({ target: `${sshd.user}@127.0.0.1:1` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SshError);
      expect((error as SshError).message).toContain('127.0.0.1:1');
      expect((error as SshError).message).toContain('refused');
    });

    it('explains a passphrase-protected key without an agent', async () => {
      const locked = join(sshd.dir, 'locked_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', locked]);
      const error = await connect({ identity: locked }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SshError);
      expect((error as SshError).message).toContain(`${locked} is protected by a passphrase`);
      expect((error as SshError).fix).toContain(`ssh-add ${locked}`);
    });

    it('gives up on a server that never answers, naming host and port', async () => {
      // Accepts TCP but never sends an SSH banner.
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as AddressInfo).port;
      try {
        const started = Date.now();
        const error = await connect({ target: `root@127.0.0.1:${port}`, timeoutMs: 500 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SshError);
        expect((error as SshError).message).toContain(`127.0.0.1:${port} within`);
        expect(Date.now() - started).toBeLessThan(3_000);
      } finally {
        silent.close();
      }
    });

    it('refuses a private key that group or others can read, as OpenSSH does', async () => {
      const open = join(sshd.dir, 'open_ed25519');
      await copyFile(sshd.clientKey, open);
      await chmod(open, 0o640);
      const error = await connect({ identity: open }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SshError);
      expect((error as SshError).message).toContain(`${open} is readable by group or others (mode 640)`);
      expect((error as SshError).fix).toBe(`chmod 600 ${open}`);
    });

    it('refuses a changed host key and says how to forget the old one', async () => {
      await sshd.restartWithNewHostKey();
      const error = await connect({ confirmNewHostKey: async () => true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyError);
      expect((error as HostKeyError).message).toContain(`${knownHosts} line 1`);
      expect((error as HostKeyError).message).toContain(keygenFingerprint(`${sshd.hostKeyPath}.pub`));
      expect((error as HostKeyError).fix).toContain(`ssh-keygen -f ${knownHosts} -R '[127.0.0.1]:${sshd.port}'`);
    });
  });
});

// OpenSSH's accept-new refuses a host known by one key type that now offers only another: an
// attacker holding none of the known keys would otherwise just offer a type the client lacks.
describe.skipIf(!sshdAvailable)('a host known by its ed25519 key that offers only ECDSA', () => {
  let sshd: TestSshd;
  let knownHosts: string;
  let knownLine: string;
  beforeAll(async () => {
    sshd = await startSshd({ hostKeyType: 'ecdsa' });
    knownHosts = join(sshd.dir, 'known_hosts');
    const other = join(sshd.dir, 'other_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    knownLine = `[127.0.0.1]:${sshd.port} ${(await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')}\n`;
  });
  beforeEach(async () => {
    await writeFile(knownHosts, knownLine, { mode: 0o600 });
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  const connect = (extra: Partial<ConnectOptions>): Promise<Host> => connectTo(sshd, knownHosts, extra);

  it('is refused as a changed key with --accept-new-host-key, and nothing is recorded', async () => {
    const error = await connect({ acceptNewHostKey: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).message).toContain('has changed');
    expect((error as HostKeyError).message).toContain(`${knownHosts} line 1 holds its ssh-ed25519 key`);
    expect((error as HostKeyError).message).toContain(keygenFingerprint(`${sshd.hostKeyPath}.pub`));
    expect((error as HostKeyError).fix).toContain(`ssh-keygen -f ${knownHosts} -R '[127.0.0.1]:${sshd.port}'`);
    expect(await readFile(knownHosts, 'utf8')).toBe(knownLine);
  });

  it('is refused as a changed key without the flag too, never as "not in known_hosts"', async () => {
    const error = await connect({ confirmNewHostKey: async () => true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).message).toContain('has changed');
    expect((error as HostKeyError).message).not.toContain('is not in');
    const plain = await connect({}).catch((e: unknown) => e);
    expect((plain as HostKeyError).message).toContain('has changed');
    expect(await readFile(knownHosts, 'utf8')).toBe(knownLine);
  });

  it('is what OpenSSH itself does with StrictHostKeyChecking=accept-new', () => {
    const ssh = spawnSync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=accept-new',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-i',
        sshd.clientKey,
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
        'true',
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    expect(ssh.status).toBe(255);
    expect(ssh.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(readFileSync(knownHosts, 'utf8')).toBe(knownLine);
  });
});
