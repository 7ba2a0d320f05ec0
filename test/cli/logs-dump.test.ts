// `relay logs --dump` shows only the RELAY_DUMP lines; plain `relay logs` leaves them out. The host
// here is a real sshd whose forced command prints a relay log as `docker logs` would.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

const LOG = [
  '{"time":"2026-11-29T20:00:00.000Z","level":"warn","msg":"RELAY_DUMP=bodies: every request and answer is written to the log"}',
  '{"time":"2026-11-29T20:00:01.000Z","level":"info","msg":"request","method":"GET","path":"/v1/models","status":200}',
  '{"time":"2026-11-29T20:00:01.001Z","level":"info","msg":"dump","method":"GET","path":"/v1/models","status":200,' +
    '"request":{"headers":{"authorization":"Bearer [redacted]"}}}',
  // A request line whose path quotes a dump line's start is still a request line.
  '{"time":"2026-11-29T20:00:02.000Z","level":"info","msg":"request","method":"GET","path":"/v1/x\\",\\"msg\\":\\"dump\\"","status":404}',
  '{"time":"2026-11-29T20:00:02.001Z","level":"info","msg":"dump","method":"GET","path":"/v1/x","status":404}',
];

describe.skipIf(!sshdAvailable)('relay logs --dump', { timeout: 90_000 }, () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-logs-dump-'));
    // The log in two writes that split a dump line in the middle: lines are picked whole.
    const text = `${LOG.join('\n')}\n`;
    const cut = text.indexOf('"request":{');
    await writeFile(join(dir, 'log-1'), text.slice(0, cut));
    await writeFile(join(dir, 'log-2'), text.slice(cut));
    sshd = await startSshd({ forceCommand: `cat ${join(dir, 'log-1')}; sleep 0.3; cat ${join(dir, 'log-2')}` });
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const logs = (...flags: string[]) =>
    runCli(
      [
        'logs',
        ...flags,
        '--host',
        `${sshd.user}@127.0.0.1:${sshd.port}`,
        '-i',
        sshd.clientKey,
        '--accept-new-host-key',
        '--known-hosts',
        join(dir, 'known_hosts'),
        '--yes',
      ],
      { cwd: dir, env: { NO_COLOR: '1' } },
    );

  it('with --dump, shows only the dump lines', async () => {
    const run = await logs('--dump');
    expect(run.stdout).toBe(`${LOG[2]}\n${LOG[4]}\n`);
  });

  it('without it, shows every other line and no dump line', async () => {
    const run = await logs();
    expect(run.stdout).toBe(`${[LOG[0], LOG[1], LOG[3]].join('\n')}\n`);
  });
});
