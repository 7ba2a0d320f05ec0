// A bad flag value is refused before anything happens (issue 17.5): the real CLI as a process, the
// `error` line naming the flag and a `fix` line, exit 1, no connection to the server and no file
// written. The "server" is a TCP listener on loopback that counts connections and drops them.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';

// Each command with a bad value, and what its error line must name.
const REFUSALS: Array<{ argv: string[]; names: RegExp }> = [
  { argv: ['rotate-token', '--grace', '5x', '--print'], names: /--grace/ },
  { argv: ['rotate-token', 'ci-bot', '--grace', '5x', '--print'], names: /--grace/ },
  { argv: ['token', 'rotate', 'ci-bot', '--grace', '10 minutes', '--print'], names: /--grace/ },
  { argv: ['token', 'add', 'ci-bot', '--expires', 'yesterday', '--print'], names: /--expires/ },
  { argv: ['token', 'add', 'ci-bot', '--expires', '0', '--print'], names: /--expires/ },
  { argv: ['usage', '--since', '3 weeks'], names: /--since/ },
  { argv: ['logs', '--since', '3 weeks'], names: /--since/ },
  { argv: ['logs', '--since', '2025-13-45'], names: /--since/ },
  { argv: ['install', '--docker-source', 'snap'], names: /--docker-source/ },
  { argv: ['init', '--no-tls', '--docker-source', 'snap'], names: /--docker-source/ },
  { argv: ['status', '--domain', 'not a domain'], names: /--domain/ },
  { argv: ['rotate-token', '--domain', 'relay.example.com;reboot', '--print'], names: /--domain/ },
  { argv: ['deploy', '--domain', 'relay..example.com'], names: /--domain/ },
  { argv: ['init', '--no-tls', '--resolver', '1.1.1.1:dns'], names: /--resolver/ },
  { argv: ['cert', '--domain', 'relay.example.com', '--email', 'ops@example.com', '--acme-server', 'http://ca.example/dir'], names: /--acme-server/ },
  { argv: ['deploy', '--domain', 'relay.example.com', '--generate', 'OPENAI_API_KEY'], names: /--generate/ },
  { argv: ['deploy', '--domain', 'relay.example.com', '--set', 'NOT_A_SETTING=1'], names: /NOT_A_SETTING/ },
  { argv: ['deploy', '--domain', 'relay.example.com', '--unset', 'NOT_A_SETTING'], names: /NOT_A_SETTING/ },
];

describe('a bad flag value', { timeout: 180_000 }, () => {
  let server: Server;
  let port: number;
  let connections = 0;
  let dir: string;
  let keyDir: string;

  beforeAll(async () => {
    // A key to log in with, so a command that went on would get as far as connecting.
    keyDir = await mkdtemp(join(tmpdir(), 'relay-flag-refusals-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id_ed25519')]);
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(keyDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-flag-refusals-'));
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-test-flag-refusals\nRELAY_TOKEN=tok-test-flag-refusals\n');
    return () => rm(dir, { recursive: true, force: true });
  });

  /** Every file in the working directory with its content: nothing may be added or changed. */
  const files = async () => {
    const names = await readdir(dir);
    return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name), 'utf8')])));
  };
  const target = () => {
    const key = join(keyDir, 'id_ed25519');
    return ['--host', `root@127.0.0.1:${port}`, '-i', key, '--accept-new-host-key', '--known-hosts', join(dir, 'known_hosts'), '--yes'];
  };

  it('is refused with error and fix lines, before any connection and before any file is written', async () => {
    for (const { argv, names } of REFUSALS) {
      const before = { connections, files: await files() };
      const run = await runCli([...argv, ...target()], { cwd: dir });
      const shown = `relay ${argv.join(' ')}\n${run.output}`;
      expect.soft(run.code, shown).toBe(1);
      expect.soft(run.output, shown).toMatch(new RegExp(`^error .*${names.source}.*$`, 'm'));
      expect.soft(run.output, shown).toMatch(/^fix {3}.+$/m);
      expect.soft(run.output, shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect.soft(run.stdout, shown).toBe('');
      expect.soft(connections, shown).toBe(before.connections);
      expect.soft(await files(), shown).toEqual(before.files);
    }
  });
});
