// One bounded way for the harness to run a command on this machine: every child has a deadline,
// and a failure message carries the command and the tail of its output so a red CI run is readable.
import { execa } from 'execa';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string | Buffer;
  cwd?: string;
  env?: Record<string, string>;
  /** Resolve with a non-zero exitCode instead of throwing. */
  allowFailure?: boolean;
}

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const r = await execa(file, args, {
    timeout: timeoutMs,
    reject: false,
    cwd: opts.cwd,
    env: opts.env,
    // Without input, give the child no stdin so nothing (docker, ssh) waits on it.
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result: RunResult = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? (r.timedOut ? 124 : 128),
  };
  if (r.timedOut) {
    throw new Error(`timed out after ${timeoutMs} ms: ${describe(file, args)}${tail(result)}`);
  }
  if (result.exitCode !== 0 && !opts.allowFailure) {
    throw new Error(`exit ${result.exitCode}: ${describe(file, args)}${tail(result)}`);
  }
  return result;
}

export const docker = (args: readonly string[], opts?: RunOptions) => run('docker', args, opts);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value, or throws `what` (plus the last error) at the deadline. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`${what} not ready after ${timeoutMs} ms${why}`);
    }
    await sleep(500);
  }
}

function describe(file: string, args: readonly string[]): string {
  const shown = [file, ...args].join(' ');
  return shown.length > 300 ? `${shown.slice(0, 300)}…` : shown;
}

function tail(r: RunResult): string {
  const out = `${r.stderr}\n${r.stdout}`.trim();
  return out ? `\n${out.slice(-2000)}` : '';
}
