// The real `relay` CLI as an operator runs it from a project directory: no TTY, known_hosts of its
// own (short-lived hosts, new keys at reused addresses, never in the real one), and every byte it
// prints kept, so a test can assert that a secret never showed up in any of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run, sleep, type RunResult } from '../harness/run.js';

const CLI = resolve('bin/relay.js');

export interface RelayCli {
  /** Runs `relay ...args` to the end; a non-zero exit is returned, not thrown. */
  run(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** Starts a long-running `relay ...args` (such as `logs -f`) and returns at once. */
  follow(args: string[]): Followed;
  /** Everything every run printed so far, stdout and stderr, with the command lines. */
  transcript(): string;
  /** Stops anything still following and removes the HOME. */
  close(): Promise<void>;
}

export interface Followed {
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Null while it runs. */
  exitCode(): number | null;
  /** Sends SIGINT (Ctrl-C) and waits for the exit code; 'hung' (then SIGKILL) after timeoutMs. */
  interrupt(timeoutMs?: number): Promise<number | null | 'hung'>;
}

/** Describes a finished run for an assertion message. */
export const shown = (r: RunResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

export async function relayCli(cwd: string): Promise<RelayCli> {
  const home = await mkdtemp(join(tmpdir(), 'relay-e2e-home-'));
  // Host keys of these short-lived hosts go to a known_hosts of their own, never the real one.
  const knownHosts = join(home, 'known_hosts');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home, NO_COLOR: '1' };
  delete env.SSH_AUTH_SOCK;
  const transcript: string[] = [];
  const children = new Set<ChildProcess>();

  return {
    async run(args, timeoutMs = 600_000) {
      const result = await run(process.execPath, [CLI, ...args, '--known-hosts', knownHosts], { cwd, env, timeoutMs, allowFailure: true });
      transcript.push(`$ relay ${args.join(' ')}\n${result.stdout}${result.stderr}`);
      return result;
    },

    follow(args) {
      const child = spawn(process.execPath, [CLI, ...args, '--known-hosts', knownHosts], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let output = '';
      let code: number | null = null;
      const collect = (d: Buffer) => (output += d.toString());
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      const exited = new Promise<number | null>((done) =>
        child.on('close', (c) => {
          code = c;
          children.delete(child);
          transcript.push(`$ relay ${args.join(' ')}\n${output}`);
          done(c);
        }),
      );
      return {
        output: () => output,
        exitCode: () => code,
        async interrupt(timeoutMs = 15_000) {
          child.kill('SIGINT');
          const result = await Promise.race([exited, sleep(timeoutMs).then(() => 'hung' as const)]);
          if (result === 'hung') {
            child.kill('SIGKILL');
            await exited;
          }
          return result;
        },
      };
    },

    transcript: () => transcript.join('\n'),

    async close() {
      for (const child of children) child.kill('SIGKILL');
      await rm(home, { recursive: true, force: true });
    },
  };
}
