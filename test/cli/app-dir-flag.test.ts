// `--app-dir` is refused the same way by every command that takes it (issue 15.9): a system
// directory before any SSH connection, with the error and fix lines. A real sshd stands in for the
// host; every login there runs /bin/false, and its log shows whether anyone connected.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

// Every command that takes --app-dir, with what it needs besides.
const COMMANDS = [
  ['status'],
  ['restart'],
  ['restart', '--dry-run'],
  ['rotate-token', '--print'],
  ['rotate-token', 'ci-bot', '--print'],
  ['token', 'add', 'ci-bot', '--print'],
  ['token', 'rotate', 'ci-bot', '--print'],
  ['token', 'revoke', 'ci-bot'],
  ['token', 'list'],
  ['deploy'],
  ['cert', '--domain', 'relay.example.com', '--email', 'ops@example.com'],
  ['init', '--no-tls'],
];

describe.skipIf(!sshdAvailable)('--app-dir naming a system directory', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    // Nothing may be changed on this machine: every command over SSH only fails.
    sshd = await startSshd({ forceCommand: '/bin/false' });
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-app-dir-'));
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-test-app-dir\n');
    return () => rm(dir, { recursive: true, force: true });
  });

  const connections = () => (sshd.log().match(/Connection from/g) ?? []).length;
  const target = () => ['--host', `${sshd.user}@127.0.0.1:${sshd.port}`, '-i', sshd.clientKey, '--accept-new-host-key', '--known-hosts', join(dir, 'known_hosts'), '--yes'];

  it('is refused by every command that takes it, before any connection, with error and fix', async () => {
    const systemDirs = ['/etc', '/tmp', '/', '/usr', '/root', '/var/lib'];
    for (const [i, command] of COMMANDS.entries()) {
      const appDir = systemDirs[i % systemDirs.length]!;
      const before = connections();
      const run = await runCli([...command, '--app-dir', appDir, ...target()], { cwd: dir });
      const shown = `relay ${command.join(' ')} --app-dir ${appDir}\n${run.output}`;
      expect.soft(run.code, shown).toBe(1);
      expect.soft(run.output, shown).toMatch(/^error .*system directory.*$/m);
      expect.soft(run.output, shown).toMatch(/^fix {3}.*\/opt\/relay.*$/m);
      expect.soft(run.stdout, shown).toBe('');
      // Let a connection that was opened reach the server's log.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect.soft(connections(), shown).toBe(before);
    }
  });

  it('in relay.json, is refused the same way by a command that only reads (logs)', async () => {
    await writeFile(join(dir, 'relay.json'), `${JSON.stringify({ appDir: '/etc' })}\n`);
    const before = connections();
    const run = await runCli(['logs', ...target()], { cwd: dir });
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/^error appDir in .*relay\.json "\/etc" is a system directory/m);
    expect(run.output).toMatch(/^fix {3}.+$/m);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(connections()).toBe(before);
  });
});
