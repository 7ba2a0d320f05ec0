// The real `relay` CLI as a process without a terminal, for tests of what it prints and exits with.
import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { RELAY_BIN } from './relay-process.js';

export interface CliRun {
  code: number | null;
  /** stdout and stderr together, colours stripped. */
  output: string;
  stdout: string;
  /** stdout and stderr together, exactly as printed. */
  raw: string;
}

export function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RELAY_BIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: options.cwd, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output: stripVTControlCharacters(output), stdout: stripVTControlCharacters(stdout), raw: output }));
  });
}
