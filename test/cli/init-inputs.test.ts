// `relay init` refuses bad input before its first SSH command: a real sshd stands in for the host
// and its log shows whether anyone connected.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../support/cli-run.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';
import { startTestDns, type TestDns } from '../support/challtestsrv.js';
import { existsSync } from 'node:fs';

const dnsAvailable = ['/usr/bin/pebble-challtestsrv', '/usr/local/bin/pebble-challtestsrv'].some((path) => existsSync(path));

describe.skipIf(!sshdAvailable || !dnsAvailable)('relay init checks every input before touching the host', { timeout: 90_000 }, () => {
  let sshd: TestSshd;
  let dns: TestDns;
  let dir: string;
  let host: string;
  beforeAll(async () => {
    // Every command on this "host" (this very machine) only fails: nothing may be installed here.
    [sshd, dns] = await Promise.all([startSshd({ forceCommand: '/bin/false' }), startTestDns()]);
    host = `${sshd.user}@127.0.0.1:${sshd.port}`;
    await dns.setA('relay.example.test', ['127.0.0.1']);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), dns?.stop()]);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-init-'));
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-test-init\n');
    return () => rm(dir, { recursive: true, force: true });
  });

  const init = (args: string[]): Promise<CliRun> =>
    runCli(['init', '--host', host, '-i', sshd.clientKey, '--accept-new-host-key', '--known-hosts', join(dir, 'known_hosts'), '--yes', ...args], { cwd: dir });
  const connections = () => (sshd.log().match(/Connection from/g) ?? []).length;
  const refusedBeforeSsh = async (args: string[], expected: RegExp): Promise<CliRun> => {
    const before = connections();
    const run = await init(args);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/^error .+$/m);
    expect(run.output).toMatch(/^fix {3}.+$/m);
    expect(run.output).toMatch(expected);
    expect(run.output).not.toContain('Install');
    // No SSH connection was even opened.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connections()).toBe(before);
    return run;
  };

  it('without an OPENAI_API_KEY, or with an empty one', async () => {
    await rm(join(dir, '.env.local'));
    await refusedBeforeSsh(['--no-tls'], /No OPENAI_API_KEY/);
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=\nOPENAI_API_KEY_OLD=sk-old\n');
    await refusedBeforeSsh(['--no-tls'], /No OPENAI_API_KEY/);
  });

  it('with a domain that is not a domain name', async () => {
    await refusedBeforeSsh(['--domain', 'relay example!com', '--email', 'ops@example.com', '--resolver', dns.server], /--domain/);
  });

  it('with an email that is not an address', async () => {
    await refusedBeforeSsh(['--domain', 'relay.example.test', '--email', 'ops-at-example', '--resolver', dns.server], /--email/);
  });

  it('with TLS asked for and a domain that has no A record', async () => {
    await refusedBeforeSsh(['--domain', 'nothing-here.example.test', '--email', 'ops@example.com', '--resolver', dns.server], /no A or AAAA record/);
  });

  it('with TLS asked for and a domain that points at another address than --host', async () => {
    await dns.setA('elsewhere.example.test', ['192.0.2.10']);
    await refusedBeforeSsh(['--domain', 'elsewhere.example.test', '--email', 'ops@example.com', '--resolver', dns.server], /points to 192\.0\.2\.10/);
  });

  it('with a system directory as --app-dir', async () => {
    await refusedBeforeSsh(['--no-tls', '--app-dir', '/etc'], /system directory/);
  });

  it('--dry-run checks the inputs and prints every phase of the plan without connecting, never the key', async () => {
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-secret-must-not-show\n');
    const before = connections();
    const run = await init(['--domain', 'relay.example.test', '--email', 'ops@example.com', '--resolver', dns.server, '--dry-run']);
    expect(run.code, run.output).toBe(0);
    for (const phase of ['Install', 'Deploy', 'Certificate', 'Verify']) expect(run.stdout).toContain(phase);
    expect(run.stdout).toContain('[app.container]');
    expect(run.stdout).toContain('[nginx.vhost]');
    expect(run.stdout).toContain('[cert.issue]');
    expect(run.output).not.toContain('sk-secret-must-not-show');
    expect(connections()).toBe(before);
  });

  it('--dry-run --show-files prints the rendered files, with placeholders for the secrets', async () => {
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-secret-must-not-show\n');
    const before = connections();
    const run = await runCli(['init', '--host', host, '--no-tls', '--dry-run', '--show-files', '--set', 'RELAY_MODELS=gpt-4o-mini', '--set-from-env', 'REDIS_URL'], {
      cwd: dir,
      env: { REDIS_URL: 'redis://:sentinel-redis-password@127.0.0.1:6379' },
    });
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/--- \/opt\/relay\/compose\.yaml .*\n[\s\S]*container_name: relay/);
    expect(run.stdout).toMatch(/--- \/opt\/relay\/\.env .*\n[\s\S]*RELAY_MODELS=gpt-4o-mini/);
    expect(run.stdout).toContain('OPENAI_API_KEY=<OPENAI_API_KEY-from-env-file>');
    expect(run.stdout).toMatch(/--- \/opt\/relay\/relay-core\.cjs .*\(the relay bundle, \d+ bytes\)/);
    expect(run.stdout).toContain('REDIS_URL=<hidden>');
    expect(run.output).not.toContain('sk-secret-must-not-show');
    expect(run.output).not.toContain('sentinel-redis-password');
    expect(connections()).toBe(before);
  });
});
