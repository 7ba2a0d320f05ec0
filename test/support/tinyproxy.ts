// A real forward proxy (Debian package `tinyproxy`) on a free loopback port, in the foreground with
// its own config in a temp dir. Its log says every request it saw, CONNECT tunnels included.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export const TINYPROXY_PACKAGE = 'tinyproxy';

export interface Tinyproxy {
  url: string;
  port: number;
  /** The request lines the proxy logged, e.g. "CONNECT 127.0.0.1:4431 HTTP/1.1". */
  requests(): string[];
  stop(): Promise<void>;
}

export interface TinyproxyOptions {
  /** Only CONNECT to these ports is allowed (tinyproxy answers 403 to others); all when unset. */
  connectPorts?: number[];
  /** Clients must send these credentials (407 without them). */
  basicAuth?: { user: string; password: string };
  /** The loopback address its outgoing connections come from, so an upstream can tell them from direct ones. */
  bind?: string;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'relay-tinyproxy-'));
  const config = join(dir, 'tinyproxy.conf');
  const lines = [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 60', 'LogLevel Connect', 'MaxClients 50', 'Allow 127.0.0.1', 'DisableViaHeader Yes'];
  for (const allowed of options.connectPorts ?? []) lines.push(`ConnectPort ${allowed}`);
  if (options.bind) lines.push(`Bind ${options.bind}`);
  if (options.basicAuth) lines.push(`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`);
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`tinyproxy could not start (apt-get install ${TINYPROXY_PACKAGE}): ${error.message}`))),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await Promise.race([listening(port), spawnError])) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tinyproxy did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => [...output.matchAll(/Request \(file descriptor \d+\): (.*)$/gm)].map((match) => match[1]!.trim()),
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
