// `Host` over this machine's shell: the same commands and file writes as over SSH, so the executor
// and rendered templates can be tested for real without a server.
import { randomBytes } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RelayError, SudoError } from '../shared/errors.js';
import type { FileSpec, Host, RunOptions, RunResult, StreamOptions } from './host.js';
import { placeFileCommand, sudoCommand, writeFileCommand } from './shell.js';

export class LocalHost implements Host {
  readonly label = `local ${userInfo().username}@${hostname()}`;
  readonly address = '127.0.0.1';
  // Already root, or told not to escalate (tests as a normal user): `sudo: true` adds nothing.
  readonly #isRoot: boolean;

  /** `sudo: false` runs everything as the current user, even what asks for root. */
  constructor(options: { sudo?: boolean } = {}) {
    this.#isRoot = process.getuid?.() === 0 || options.sudo === false;
  }

  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const spawnOptions: SpawnOptions = { onStdout: (chunk) => stdout.push(chunk), onStderr: (chunk) => stderr.push(chunk) };
    if (options.stdin !== undefined) spawnOptions.stdin = options.stdin;
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    const code = await this.#spawn(this.#wrap(command, options.sudo), spawnOptions);
    const result = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code };
    if (options.sudo && !this.#isRoot && code !== 0 && /sudo: a password is required/.test(result.stderr)) {
      throw new SudoError(`${userInfo().username} cannot become root on this machine without a password`, { fix: 'run as root' });
    }
    return result;
  }

  async stream(command: string, options: StreamOptions): Promise<number | null> {
    if (options.signal?.aborted) return null;
    const spawnOptions: SpawnOptions = { onStdout: options.onStdout };
    if (options.onStderr) spawnOptions.onStderr = options.onStderr;
    if (options.stdin !== undefined) spawnOptions.stdin = options.stdin;
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    if (options.signal) spawnOptions.signal = options.signal;
    const code = await this.#spawn(this.#wrap(command, options.sudo), spawnOptions);
    return options.signal?.aborted ? null : code;
  }

  async writeFile(file: FileSpec): Promise<void> {
    const result = await this.run(writeFileCommand(file.path, file.mode, file.owner), { sudo: true, stdin: file.content });
    if (result.code !== 0) throw new RelayError(`could not write ${file.path}: ${result.stderr.trim()}`);
  }

  async uploadFile(localPath: string, file: Omit<FileSpec, 'content'>): Promise<void> {
    const copy = join(tmpdir(), `.relay-upload.${randomBytes(6).toString('hex')}`);
    await copyFile(localPath, copy);
    const result = await this.run(placeFileCommand(copy, file.path, file.mode, file.owner), { sudo: true });
    if (result.code !== 0) {
      await rm(copy, { force: true });
      throw new RelayError(`could not place ${file.path}: ${result.stderr.trim()}`);
    }
  }

  async close(): Promise<void> {}

  #wrap(command: string, sudo: boolean | undefined): string {
    return sudo && !this.#isRoot ? sudoCommand(command) : command;
  }

  async #spawn(command: string, options: SpawnOptions): Promise<number | null> {
    // Its own process group, so an abort ends the command's children too.
    const child = execa('sh', ['-c', command], { cwd: options.cwd, input: options.stdin ?? '', reject: false, buffer: false, detached: options.signal !== undefined });
    const onAbort = (): void => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => options.onStdout?.(chunk));
    child.stderr.on('data', (chunk: Buffer) => options.onStderr?.(chunk));
    const result = await child;
    options.signal?.removeEventListener('abort', onAbort);
    // Not started at all (no sh): the one failure that is not the command's answer.
    if (result.exitCode === undefined && result.signal === undefined) throw result;
    return result.exitCode ?? null;
  }
}

interface SpawnOptions {
  stdin?: string | Buffer;
  cwd?: string;
  signal?: AbortSignal;
  onStdout?(chunk: Buffer): void;
  onStderr?(chunk: Buffer): void;
}
