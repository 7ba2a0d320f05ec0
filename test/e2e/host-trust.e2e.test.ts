// Issue 15 point 6 on a disposable host: a host known by its ed25519 key that later offers only an
// ECDSA key has changed, as OpenSSH's accept-new says, with or without --accept-new-host-key.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './harness/run.js';
import { startTestHost, type TestHost } from './harness/testhost.js';

const CLI = resolve('bin/relay.js');

let host: TestHost;
let home: string;
let knownHosts: string;

async function scan(type: string): Promise<string> {
  const r = await run('ssh-keyscan', ['-T', '10', '-t', type, '-p', String(host.sshPort), '127.0.0.1'], { timeoutMs: 20_000, allowFailure: true });
  return r.stdout.trim();
}

async function relayStatus(extra: string[]) {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home, NO_COLOR: '1' };
  delete env.SSH_AUTH_SOCK;
  const args = ['status', '--host', `ops@127.0.0.1:${host.sshPort}`, '-i', host.identityFile, '--known-hosts', knownHosts, ...extra];
  return run(process.execPath, [CLI, ...args], { cwd: home, env, timeoutMs: 120_000, allowFailure: true });
}

describe('a host known by its ed25519 key that now offers only ECDSA', () => {
  beforeAll(async () => {
    host = await startTestHost({ name: 'trust' });
    home = await mkdtemp(join(tmpdir(), 'relay-e2e-trust-'));
    knownHosts = join(home, 'known_hosts');
    const ed25519 = await scan('ed25519');
    expect(ed25519).toMatch(/ ssh-ed25519 /);
    await writeFile(knownHosts, `${ed25519}\n`, { mode: 0o600 });
    // The host's sshd now offers its ECDSA key alone, as after a reinstall or an attacker's swap.
    await host.exec(
      'ssh-keygen -A && printf "HostKey /etc/ssh/ssh_host_ecdsa_key\\n" > /etc/ssh/sshd_config.d/00-only-ecdsa.conf && sshd -t && systemctl reload ssh',
    );
    for (let i = 0; i < 50 && (await scan('ed25519')) !== ''; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await scan('ed25519')).toBe('');
    expect(await scan('ecdsa')).toMatch(/ ecdsa-sha2-nistp256 /);
  }, 600_000);
  afterAll(async () => {
    await host?.destroy();
    if (home) await rm(home, { recursive: true, force: true });
  }, 60_000);

  for (const [label, extra] of [
    ['with --accept-new-host-key', ['--accept-new-host-key']],
    ['without the flag', []],
  ] as const) {
    it(`is refused as a changed key ${label}, and known_hosts is left as it was`, async () => {
      const before = await readFile(knownHosts, 'utf8');
      const r = await relayStatus([...extra]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/host key of .* has changed/);
      expect(r.stderr).toMatch(/ssh-ed25519|ed25519/i);
      expect(r.stderr).not.toMatch(/not in known_hosts/);
      expect(await readFile(knownHosts, 'utf8')).toBe(before);
    }, 180_000);
  }
});
