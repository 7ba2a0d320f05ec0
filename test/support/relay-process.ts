// Runs the real `relay serve` as a child process and keeps every byte it prints,
// so tests can assert on its logs (and on what never appears in them).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RELAY_BIN = fileURLToPath(new URL('../../bin/relay.js', import.meta.url));

export interface RelayProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines from stdout. */
  logLines(): Array<Record<string, unknown>>;
  /** Peak resident memory in KiB (VmHWM) and current (VmRSS). */
  memory(): { peakKb: number; rssKb: number };
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface RelayProcessOptions {
  env: Record<string, string | undefined>;
  /** More arguments for `relay serve`. */
  args?: string[];
  cwd?: string;
  /**
   * What node runs instead of `relay serve --port 0 --host 127.0.0.1 ...args`, e.g. the image's
   * `dist/relay-server.mjs` (then PORT=0 and HOST go in env).
   */
  command?: string[];
}

export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const command = options.command ?? [RELAY_BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...(options.args ?? [])];
  const child = spawn(process.execPath, command, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let all = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    all += text;
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (all += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${all}`)), 10_000);
    const look = () => {
      const match = /"msg":"relay listening".*?"port":(\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', look);
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`relay exited before listening:\n${all}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    exited,
    output: () => all,
    logLines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    memory: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
      return { peakKb: field('VmHWM'), rssKb: field('VmRSS') };
    },
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls until `predicate` holds (for log lines written just after a response ends). */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
