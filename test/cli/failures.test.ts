// Every failure an operator can cause ends in the `error` / `fix` lines and a non-zero exit,
// never a Node stack: the real CLI as a process, a pseudo-terminal (script(1)) where a prompt needs one.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_BIN } from '../support/relay-process.js';

interface Run {
  code: number | null;
  output: string;
}

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'relay-cli-'));
});

/** Runs `relay ...args` without a terminal; stdout and stderr together, colours stripped. */
function relay(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RELAY_BIN, ...args], { cwd: home, env: { PATH: process.env.PATH, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output: stripVTControlCharacters(output) }));
  });
}

function expectErrorFix(run: Run): void {
  expect(run.output).toMatch(/^error .+$/m);
  expect(run.output).toMatch(/^fix {3}.+$/m);
  // No stack frames, no Node error dump.
  expect(run.output).not.toMatch(/^\s+at .+\(?.*:\d+:\d+\)?$/m);
  expect(run.output).not.toContain('node:internal');
}

describe('Ctrl-C at a prompt', { timeout: 90_000 }, () => {
  it('ends with error/fix and exit 130, not an ExitPromptError stack', async () => {
    // `relay status` with no relay.json asks for the server on a terminal.
    const cli = `${process.execPath} ${RELAY_BIN} status`;
    const child = spawn('script', ['-qec', cli, '/dev/null'], { cwd: home, env: { PATH: process.env.PATH, HOME: home, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const asked = new Promise<void>((resolve) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server to use')) resolve();
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await asked;
    child.stdin.write('\x03');
    const code = await exited;
    const run = { code, output: stripVTControlCharacters(output) };
    expect(run.code).toBe(130);
    expectErrorFix(run);
    expect(run.output).not.toContain('ExitPromptError');
  });
});

describe('bad input the operator typed', { timeout: 90_000 }, () => {
  it('cert --resolver bogus is refused before any connection', async () => {
    const run = await relay(['cert', '--resolver', 'bogus', '--domain', 'relay.example.com', '--email', 'ops@example.com', '--host', 'root@127.0.0.1:1']);
    expect(run.code).toBe(1);
    expectErrorFix(run);
    expect(run.output).toContain('--resolver');
    expect(run.output).not.toContain('refused');
  });
});

describe('relay serve on a port in use', { timeout: 90_000 }, () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => {
    busy?.close();
  });

  it('says the port is taken and how to choose another', async () => {
    const run = await relay(['serve', '--port', String(port)], { OPENAI_API_KEY: 'sk-test', RELAY_TOKEN: 't'.repeat(32) });
    expect(run.code).toBe(1);
    expectErrorFix(run);
    expect(run.output).toContain(`127.0.0.1:${port}`);
    expect(run.output).toContain('--port');
  });
});
