import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalHost } from '../../src/host/local-host.js';
import { killOnEofCommand, shellQuote, shScript, sudoCommand } from '../../src/host/shell.js';

const owner = `${userInfo().username}:${process.getgid?.() ?? 0}`;
const sh = (command: string, input = ''): string => execFileSync('sh', ['-c', command], { encoding: 'utf8', input });

describe('shell quoting', () => {
  it('passes any text through sh unchanged', () => {
    for (const text of ["it's", '$(touch /tmp/pwned) `x` $HOME', 'a\nb', '"quoted" \\ back', '', '-n']) {
      expect(sh(`printf %s ${shellQuote(text)}`)).toBe(text);
      expect(sh(shScript('printf %s "$1"', [text]))).toBe(text);
      // What sudo receives: one level deeper.
      expect(sh(sudoCommand(`printf %s ${shellQuote(text)}`).replace(/^sudo -n /, ''))).toBe(text);
    }
  });

  it('ends a wrapped command and its children when stdin closes', async () => {
    const marker = `32.${process.pid}`;
    const child = spawn('sh', ['-c', killOnEofCommand(`echo up; sleep ${marker}; echo never`)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // Closing stdin is the EOF a closed SSH channel delivers.
      if (out === 'up\n') setTimeout(() => child.stdin.end(), 100);
    });
    const started = Date.now();
    expect(await exited).toBe(143);
    expect(out).toBe('up\n');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(() => execFileSync('pgrep', ['-f', `sleep ${marker}`])).toThrow();
  });

  it('keeps the exit code of a wrapped command that ends by itself', async () => {
    // stdin stays open, as the SSH channel's does until an abort.
    const child = spawn('sh', ['-c', killOnEofCommand('echo done; exit 7')], { stdio: ['pipe', 'pipe', 'pipe'] });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    child.stdin.end();
    expect(code).toBe(7);
  });
});

describe('local host', () => {
  let dir: string;
  const host = new LocalHost({ sudo: false });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-local-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs with stdin, cwd and exit codes', async () => {
    expect(await host.run('cat; pwd; exit 2', { stdin: 'secret\n', cwd: dir })).toEqual({ stdout: `secret\n${dir}\n`, stderr: '', code: 2 });
  });

  it('writes files atomically with mode, leaving no temp files', async () => {
    const path = join(dir, 'a', 'b.conf');
    await host.writeFile({ path, content: 'one\n', mode: '0640', owner });
    await host.writeFile({ path, content: Buffer.from('two\n'), mode: '600', owner });
    expect(await readFile(path, 'utf8')).toBe('two\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'a'))).toEqual(['b.conf']);
  });

  it('uploads a file into place', async () => {
    await writeFile(join(dir, 'src.bin'), 'payload');
    await host.uploadFile(join(dir, 'src.bin'), { path: join(dir, 'opt', 'x.bin'), mode: '0755', owner });
    expect(await readFile(join(dir, 'opt', 'x.bin'), 'utf8')).toBe('payload');
    expect((await stat(join(dir, 'opt', 'x.bin'))).mode & 0o777).toBe(0o755);
  });

  it('streams and stops on abort', async () => {
    const controller = new AbortController();
    let out = '';
    const code = await host.stream('echo up; sleep 30; echo never', {
      signal: controller.signal,
      onStdout: (chunk) => {
        out += chunk.toString();
        controller.abort();
      },
    });
    expect(code).toBeNull();
    expect(out).toBe('up\n');
  });
});
