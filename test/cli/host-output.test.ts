// What a host prints reaches the operator's terminal without its control characters: a host (or a
// log line an attacker put in a request) must not retitle the terminal, clear it or rewrite lines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

// OSC title, bell, clear screen, colour, carriage return, backspace, C1 CSI: all on every login.
const HOSTILE = String.raw`printf '\033]0;pwned\007\033[2J\033[31mred\033[0m line\r\nfake prompt\010\010next\tcol\n'; printf '\302\23331merr\033[0m\n' >&2`;

describe.skipIf(!sshdAvailable)('host output on the terminal', { timeout: 90_000 }, () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd({ forceCommand: HOSTILE });
    dir = await mkdtemp(join(tmpdir(), 'relay-hostout-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('relay logs keeps the text, tabs and newlines, and drops every control character', async () => {
    const run = await runCli(['logs', '--host', `${sshd.user}@127.0.0.1:${sshd.port}`, '-i', sshd.clientKey, '--accept-new-host-key', '--known-hosts', join(dir, 'known_hosts'), '--yes'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(run.raw).toContain('red line\n');
    expect(run.raw).toContain('next\tcol\n');
    expect(run.raw).toContain('err');
    // Nothing but printable text, \n and \t.
    expect(run.raw).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});

describe.skipIf(!sshdAvailable)('relay status with a hostile host', { timeout: 90_000 }, () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd({ forceCommand: String.raw`printf 'container.state=\033]0;pwned\007run\033[2Jning\nnginx.active=act\033[1Aive\n'` });
    dir = await mkdtemp(join(tmpdir(), 'relay-hostout-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the values without their control characters', async () => {
    const run = await runCli(['status', '--host', `${sshd.user}@127.0.0.1:${sshd.port}`, '-i', sshd.clientKey, '--accept-new-host-key', '--known-hosts', join(dir, 'known_hosts'), '--yes'], { cwd: dir });
    expect(run.raw).toMatch(/container +running/);
    expect(run.raw).toMatch(/nginx +active/);
    expect(run.raw).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});

// One line both `relay usage` (the last line, a usage report) and `relay token list` (tokens.json)
// accept: a model name a client sent and a time the host reports, with escape sequences in them.
const HOSTILE_REPORT = JSON.stringify({
  version: 1,
  tokens: [{ name: 'ci-bot', sha256: 'a'.repeat(64), created: '2026-01-01T00:00:00.000Z' }],
  since: '2026-01-01T00:00:00.000Z',
  from: '2026-01-01T00:00:00.000Z\u001b]0;pwned\u0007',
  rows: [{ token: 'ci-bot\u001b[2J', model: 'gpt\u001b]0;pwned\u0007-4o\u009b31m', requests: 1, errors: 0, promptTokens: 1, completionTokens: 1, notReported: 0, bytesIn: 1, bytesOut: 1 }],
  lastUsed: { 'ci-bot': '2026-01-01\u001b[1A12:00' },
});

describe.skipIf(!sshdAvailable)('relay usage and relay token list with a hostile host', { timeout: 90_000 }, () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd({ forceCommand: `printf '%s\\n' '${HOSTILE_REPORT}'` });
    dir = await mkdtemp(join(tmpdir(), 'relay-hostout-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const target = () => ['--host', `${sshd.user}@127.0.0.1:${sshd.port}`, '-i', sshd.clientKey, '--accept-new-host-key', '--known-hosts', join(dir, 'known_hosts'), '--yes'];

  it('relay usage shows names and models without their control characters', async () => {
    const run = await runCli(['usage', ...target()], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(run.raw).toMatch(/^ci-bot +gpt-4o +1 /m);
    expect(run.raw).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('relay token list shows what the host reports without control characters', async () => {
    const run = await runCli(['token', 'list', ...target()], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(run.raw).toMatch(/^ci-bot\s+active/m);
    expect(run.raw).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});
