// A real OpenSSH server on 127.0.0.1 for the current user, with its own host key and an
// authorized client key, all in a temp dir. Needs /usr/sbin/sshd and ssh-keygen (openssh-server).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { hasSystemComponent } from './system-component.js';

export const SSHD = '/usr/sbin/sshd';
export const sshdAvailable = hasSystemComponent(SSHD, 'openssh-server');

export interface TestSshd {
  port: number;
  user: string;
  dir: string;
  /** Authorized on the server. */
  clientKey: string;
  /** Not authorized anywhere: for auth-failure tests. */
  strangerKey: string;
  hostKeyPath: string;
  /** The server log (sshd -e), for diagnosing a failed test. */
  log(): string;
  /** Same port, a freshly generated host key: what a reinstalled (or spoofed) server looks like. */
  restartWithNewHostKey(): Promise<void>;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** The one host key type the server offers; default ed25519. */
  hostKeyType?: 'ed25519' | 'ecdsa';
  /** Every login runs only this (sshd ForceCommand): a host that must never be changed. */
  forceCommand?: string;
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-sshd-'));
  const user = userInfo().username;
  const port = await freePort();
  const hostKeyType = options.hostKeyType ?? 'ed25519';
  const hostKeyPath = join(dir, `host_${hostKeyType}`);
  const clientKey = join(dir, 'client_ed25519');
  const strangerKey = join(dir, 'stranger_ed25519');
  keygen(hostKeyPath, hostKeyType);
  keygen(clientKey);
  keygen(strangerKey);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`), { mode: 0o600 });
  // Privilege separation needs this directory when sshd starts as root.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const sftp = ['/usr/lib/openssh/sftp-server', '/usr/libexec/sftp-server'].find((path) => existsSync(path)) ?? 'internal-sftp';
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      'LogLevel VERBOSE',
      `Subsystem sftp ${sftp}`,
      ...(options.forceCommand === undefined ? [] : [`ForceCommand ${options.forceCommand}`]),
      '',
    ].join('\n'),
  );

  let logText = '';
  let child: ChildProcess;
  const start = async (): Promise<void> => {
    child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => {
      logText += chunk.toString('utf8');
    });
    await waitForBanner(port, () => child.exitCode !== null, () => logText);
  };
  const stopChild = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await start();

  return {
    port,
    user,
    dir,
    clientKey,
    strangerKey,
    hostKeyPath,
    log: () => logText,
    async restartWithNewHostKey() {
      await stopChild();
      await rm(hostKeyPath, { force: true });
      await rm(`${hostKeyPath}.pub`, { force: true });
      keygen(hostKeyPath, hostKeyType);
      await start();
    },
    async stop() {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What `ssh-keygen -lf` prints for a public key: the reference fingerprint. */
export function keygenFingerprint(publicKeyPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', publicKeyPath], { encoding: 'utf8' }).split(' ')[1]!;
}

function keygen(path: string, type = 'ed25519'): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'relay-test', '-f', path]);
}

async function waitForBanner(port: number, died: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (died()) throw new Error(`sshd exited at start:\n${log()}`);
    const banner = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.setTimeout(1_000);
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(chunk.toString('latin1'));
      });
      socket.once('error', () => resolve(''));
      socket.once('timeout', () => {
        socket.destroy();
        resolve('');
      });
    });
    if (banner.startsWith('SSH-')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd did not answer on port ${port}:\n${log()}`);
}
