// `Host` over one SSH connection (node-ssh, ssh2 underneath). The server's key is checked against
// known_hosts before any credential is offered; every command reuses the one connection.
import { lookup } from 'node:dns/promises';
import { readFile, stat } from 'node:fs/promises';
import { NodeSSH } from 'node-ssh';
import { formatDuration } from '../shared/duration.js';
import { HostKeyError, RelayError, SshError, SudoError } from '../shared/errors.js';
import type { FileSpec, Host, RunOptions, RunResult, StreamOptions } from './host.js';
import { checkHostKey, fingerprint, hostKeyChangedError, keyTypeOf, knownHostsName, knownKeyTypes, recordHostKey } from './known-hosts.js';
import { killOnEofCommand, placeFileCommand, shellQuote, sudoCommand, withCwd, writeFileCommand } from './shell.js';

export interface SshHostOptions {
  hostName: string;
  port: number;
  user: string;
  /** Private keys to offer, in order; missing files are skipped. The agent is tried after them. */
  identityFiles: string[];
  /** Checked in order; a newly accepted key is recorded in the first. */
  knownHostsFiles: string[];
  hashKnownHosts?: boolean;
  hostKeyAlias?: string;
  /** Asked when the server's key is not in known_hosts; true records it and goes on. Absent: refuse. */
  confirmNewHostKey?(fingerprint: string, keyType: string): Promise<boolean>;
  /** Connect + handshake + auth, not counting time spent in confirmNewHostKey. Default 20s. */
  timeoutMs?: number;
  /** ssh-agent socket; default $SSH_AUTH_SOCK. */
  agentSocket?: string;
}

// Below OpenSSH's default MaxSessions (10), so parallel run() calls queue instead of failing.
const MAX_CHANNELS = 8;
// Preference order; types already in known_hosts move to the front so they can be verified.
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const SUDO_REFUSED = /sudo: (a password is required|a terminal is required)|is not in the sudoers file|may not run sudo|sudo: (command )?not found/;

interface Channel {
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'exit', listener: (code: number | null, signal?: string) => void): void;
  on(event: 'close' | 'error', listener: (error?: Error) => void): void;
  stderr: { on(event: 'data', listener: (chunk: Buffer) => void): void };
  end(data?: Buffer): void;
  close(): void;
}

interface Connection {
  exec(command: string, options: { pty: boolean }, callback: (error: Error | undefined, channel: Channel) => void): void;
  on(event: 'error' | 'close', listener: (error?: Error) => void): void;
}

interface ExecOptions {
  stdin?: string | Buffer;
  /** Keep stdin open until the signal aborts (the killOnEof wrapper ends the command then). */
  holdStdinUntil?: AbortSignal;
  onStdout?(chunk: Buffer): void;
  onStderr?(chunk: Buffer): void;
}

export class SshHost implements Host {
  readonly label: string;
  readonly address: string;
  readonly user: string;
  #ssh: NodeSSH;
  #connection: Connection;
  #closed: Error | undefined;
  #active = 0;
  #waiting: Array<() => void> = [];

  private constructor(ssh: NodeSSH, options: SshHostOptions, address: string) {
    this.label = hostLabel(options);
    this.address = address;
    this.user = options.user;
    this.#ssh = ssh;
    this.#connection = ssh.connection as unknown as Connection;
    // After 'ready' node-ssh stops listening for errors; an unheard 'error' would crash the CLI.
    this.#connection.on('error', (error) => {
      this.#closed ??= new SshError(`the connection to ${this.label} failed: ${error?.message ?? 'unknown error'}`);
    });
    this.#connection.on('close', () => {
      this.#closed ??= new SshError(`the connection to ${this.label} was closed`, { fix: 'run the command again' });
    });
  }

  static async connect(options: SshHostOptions): Promise<SshHost> {
    const ssh = await openConnection(options);
    // The same lookup the connection made: where this machine reaches the host.
    const { address } = await lookup(options.hostName).catch(() => ({ address: options.hostName }));
    return new SshHost(ssh, options, address);
  }

  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    const full = this.#wrap(withCwd(command, options.cwd), options.sudo);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const exec: ExecOptions = { onStdout: (chunk) => stdout.push(chunk), onStderr: (chunk) => stderr.push(chunk) };
    if (options.stdin !== undefined) exec.stdin = options.stdin;
    const code = await this.#exec(full, exec);
    const result = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code };
    if (options.sudo) this.#assertSudoWorked(result);
    return result;
  }

  async stream(command: string, options: StreamOptions): Promise<number | null> {
    const { signal } = options;
    if (signal?.aborted) return null;
    let inner = withCwd(command, options.cwd);
    // Without a pty, closing the channel does not end the remote command; the wrapper does.
    if (signal && options.stdin === undefined) inner = killOnEofCommand(inner);
    const stderrTail: Buffer[] = [];
    const exec: ExecOptions = {
      onStdout: options.onStdout,
      onStderr: (chunk) => {
        if (options.sudo && stderrTail.length < 4) stderrTail.push(chunk);
        options.onStderr?.(chunk);
      },
    };
    if (options.stdin !== undefined) exec.stdin = options.stdin;
    else if (signal) exec.holdStdinUntil = signal;
    const code = await this.#exec(this.#wrap(inner, options.sudo), exec);
    if (options.sudo) this.#assertSudoWorked({ stdout: '', stderr: Buffer.concat(stderrTail).toString('utf8'), code });
    return signal?.aborted ? null : code;
  }

  async writeFile(file: FileSpec): Promise<void> {
    const result = await this.run(writeFileCommand(file.path, file.mode, file.owner), { sudo: true, stdin: file.content });
    if (result.code !== 0) {
      throw new RelayError(`could not write ${file.path} on ${this.label}: ${lastLines(result.stderr)}`, {
        fix: `check that the owner ${file.owner} exists and the disk has room (df -h ${shellQuote(file.path)})`,
      });
    }
  }

  async uploadFile(localPath: string, file: Omit<FileSpec, 'content'>): Promise<void> {
    // Land in the login user's home (which it can write), then move into place as root.
    const temp = await this.run('mktemp "${HOME:-/tmp}/.relay-upload.XXXXXX"');
    const uploaded = temp.stdout.trim();
    if (temp.code !== 0 || uploaded === '') {
      throw new RelayError(`could not create a temporary file on ${this.label}: ${lastLines(temp.stderr)}`);
    }
    try {
      await this.#ssh.putFile(localPath, uploaded);
    } catch (error) {
      await this.run(`rm -f -- ${shellQuote(uploaded)}`).catch(() => undefined);
      throw new RelayError(`could not upload ${localPath} to ${this.label}: ${(error as Error).message}`, { cause: error });
    }
    const placed = await this.run(placeFileCommand(uploaded, file.path, file.mode, file.owner), { sudo: true });
    if (placed.code !== 0) {
      throw new RelayError(`could not move the upload into ${file.path} on ${this.label}: ${lastLines(placed.stderr)}`);
    }
  }

  async close(): Promise<void> {
    this.#closed ??= new SshError(`the connection to ${this.label} is closed`);
    this.#ssh.dispose();
  }

  #wrap(command: string, sudo: boolean | undefined): string {
    return sudo && this.user !== 'root' ? sudoCommand(command) : command;
  }

  #assertSudoWorked(result: RunResult): void {
    if (this.user === 'root' || result.code === 0 || !SUDO_REFUSED.test(result.stderr)) return;
    throw new SudoError(`${this.user} cannot become root on ${this.label} without a password (sudo said: ${lastLines(result.stderr, 1)})`, {
      fix:
        `on the server, allow it: echo '${this.user} ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/90-relay-${this.user} && sudo chmod 440 /etc/sudoers.d/90-relay-${this.user}; ` +
        'or connect as root with --host root@host',
    });
  }

  async #exec(command: string, options: ExecOptions): Promise<number | null> {
    if (this.#closed) throw this.#closed;
    await this.#acquire();
    try {
      return await new Promise<number | null>((resolve, reject) => {
        this.#connection.exec(command, { pty: false }, (error, channel) => {
          if (error) {
            reject(this.#closed ?? new SshError(`could not start a command on ${this.label}: ${error.message}`, { cause: error }));
            return;
          }
          let code: number | null = null;
          let onAbort: (() => void) | undefined;
          let backstop: NodeJS.Timeout | undefined;
          let settled = false;
          const finish = (): void => {
            if (settled) return;
            settled = true;
            if (onAbort) options.holdStdinUntil?.removeEventListener('abort', onAbort);
            clearTimeout(backstop);
            resolve(code);
          };
          channel.on('data', (chunk) => options.onStdout?.(chunk));
          channel.stderr.on('data', (chunk) => options.onStderr?.(chunk));
          channel.on('exit', (exitCode) => {
            code = typeof exitCode === 'number' ? exitCode : null;
          });
          channel.on('error', () => undefined);
          channel.on('close', finish);
          const hold = options.holdStdinUntil;
          if (hold) {
            onAbort = () => {
              channel.end();
              // The wrapper normally exits at once; a server that keeps the channel open (the command
              // ignores SIGTERM) must not keep Ctrl-C waiting.
              backstop = setTimeout(() => {
                channel.close();
                finish();
              }, 3_000);
            };
            if (hold.aborted) onAbort();
            else hold.addEventListener('abort', onAbort, { once: true });
          } else {
            const stdin = options.stdin;
            channel.end(stdin === undefined ? undefined : Buffer.isBuffer(stdin) ? stdin : Buffer.from(stdin, 'utf8'));
          }
        });
      });
    } finally {
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    if (this.#active < MAX_CHANNELS) {
      this.#active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active -= 1;
  }
}

interface LoadedKey {
  path: string;
  key: Buffer;
}

async function openConnection(options: SshHostOptions): Promise<NodeSSH> {
  const label = hostLabel(options);
  const { keys, encrypted } = await loadIdentities(options.identityFiles);
  const agent = options.agentSocket ?? process.env.SSH_AUTH_SOCK;
  const tried = [...keys.map((key) => key.path), ...(agent ? ['the keys in ssh-agent'] : [])];
  if (tried.length === 0) throw noKeysError(label, options, encrypted);

  const authHandler: object[] = keys.map(({ key }) => ({ type: 'publickey', username: options.user, key }));
  if (agent) authHandler.push({ type: 'agent', username: options.user, agent });

  const knownName = options.hostKeyAlias ?? knownHostsName(options.hostName, options.port);
  const knownTypes = await knownKeyTypes(options.knownHostsFiles, knownName);
  const timeoutMs = options.timeoutMs ?? 20_000;

  // Our own deadline, paused while the operator reads a fingerprint (ssh2's readyTimeout is not).
  let refusal: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timedOut: (() => void) | undefined;
  const startTimer = (): void => {
    timer = setTimeout(() => timedOut?.(), timeoutMs);
  };

  const hostVerifier = (keyBlob: Buffer, verify: (ok: boolean) => void): undefined => {
    clearTimeout(timer);
    verifyHostKey(options, label, knownName, keyBlob).then(
      (ok) => {
        startTimer();
        verify(ok);
      },
      (error: Error) => {
        refusal = error;
        verify(false);
      },
    );
    return undefined; // ssh2 treats any returned value as the verdict; ours comes through verify()
  };

  const ssh = new NodeSSH();
  const connecting = ssh.connect({
    host: options.hostName,
    port: options.port,
    username: options.user,
    authHandler,
    hostVerifier,
    readyTimeout: 0,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    algorithms: { serverHostKey: hostKeyAlgorithms(knownTypes) },
  } as Parameters<NodeSSH['connect']>[0]);
  const deadline = new Promise<never>((_, reject) => {
    timedOut = () => reject(new SshError(`no SSH answer from ${hostLabel(options).slice(options.user.length + 1)} within ${formatDuration(timeoutMs)}`, {
      fix: 'check the address and port, and that the firewall (or the provider\'s security group) allows SSH',
    }));
  });
  deadline.catch(() => undefined);
  startTimer();
  try {
    await Promise.race([connecting, deadline]);
    return ssh;
  } catch (error) {
    ssh.dispose();
    throw refusal ?? connectionError(error as Error & { code?: string; level?: string }, label, options, tried, encrypted);
  } finally {
    clearTimeout(timer);
    connecting.catch(() => undefined);
  }
}

async function verifyHostKey(options: SshHostOptions, label: string, knownName: string, keyBlob: Buffer): Promise<boolean> {
  const check = await checkHostKey(options.knownHostsFiles, knownName, keyBlob);
  const keyType = keyTypeOf(keyBlob);
  const print = fingerprint(keyBlob);
  switch (check.status) {
    case 'known':
      return true;
    case 'changed':
      throw hostKeyChangedError(label, knownName, check, print, keyType);
    case 'revoked':
      throw new HostKeyError(`the host key of ${label} (${print}) is marked @revoked in ${check.file} line ${check.line}`, {
        fix: 'the server must get a new host key before relay connects to it',
      });
    case 'unknown': {
      const file = options.knownHostsFiles[0]!;
      if (!options.confirmNewHostKey) {
        throw new HostKeyError(`${label} is not in ${file}; its ${keyType} key fingerprint is ${print}`, {
          fix: 'compare that fingerprint with the one your provider shows (or `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the console), then run again with --accept-new-host-key',
        });
      }
      if (!(await options.confirmNewHostKey(print, keyType))) {
        throw new HostKeyError(`the host key of ${label} (${print}) was not accepted`);
      }
      await recordHostKey(file, knownName, keyBlob, { hash: options.hashKnownHosts ?? false });
      return true;
    }
  }
}

async function loadIdentities(paths: string[]): Promise<{ keys: LoadedKey[]; encrypted: string[] }> {
  const keys: LoadedKey[] = [];
  const encrypted: string[] = [];
  for (const path of paths) {
    const key = await readFile(path).catch(() => undefined);
    if (!key) continue;
    await refuseOpenKey(path);
    // Passphrases belong to ssh-agent; relay never asks for or holds one.
    if (isEncryptedKey(key.toString('utf8'))) encrypted.push(path);
    else keys.push({ path, key });
  }
  return { keys, encrypted };
}

/** OpenSSH's rule (sshkey_perm_ok): a private key of ours that group or others can read is refused. */
async function refuseOpenKey(path: string): Promise<void> {
  const { mode, uid } = await stat(path);
  if (uid !== process.getuid?.() || (mode & 0o077) === 0) return;
  throw new SshError(`the private key ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); OpenSSH refuses such a key, and so does relay`, {
    fix: `chmod 600 ${shellQuote(path)}`,
  });
}

/** OpenSSH-format keys name their cipher ('none' when clear); PEM keys say ENCRYPTED in a header. */
export function isEncryptedKey(text: string): boolean {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) return true;
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (body === undefined) return false;
  const blob = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (blob.subarray(0, magic.length).toString('latin1') !== magic || blob.length < magic.length + 4) return false;
  const length = blob.readUInt32BE(magic.length);
  return blob.subarray(magic.length + 4, magic.length + 4 + length).toString('latin1') !== 'none';
}

function noKeysError(label: string, options: SshHostOptions, encrypted: string[]): SshError {
  if (encrypted.length > 0) {
    return new SshError(`cannot log in to ${label}: ${encrypted.join(', ')} is protected by a passphrase and no ssh-agent is running`, {
      fix: `start an agent and add the key: eval "$(ssh-agent)" && ssh-add ${shellQuote(encrypted[0]!)}`,
    });
  }
  return new SshError(`cannot log in to ${label}: no SSH private key found (looked for ${options.identityFiles.join(', ') || 'none'}) and no ssh-agent is running`, {
    fix: 'pass your key with --identity <file>, or create one with `ssh-keygen -t ed25519` and install it with `ssh-copy-id`',
  });
}

function connectionError(error: Error & { code?: string; level?: string }, label: string, options: SshHostOptions, tried: string[], encrypted: string[]): RelayError {
  const where = hostLabel(options).slice(options.user.length + 1);
  if (error.level === 'client-authentication') {
    const skipped = encrypted.length > 0 ? ` (skipped passphrase-protected ${encrypted.join(', ')}: add it to ssh-agent with ssh-add)` : '';
    return new SshError(`${label} refused the login as ${options.user}: tried ${tried.join(', ')}${skipped}`, {
      fix: `pass the right key with --identity <file>, or install yours on the server: ssh-copy-id -i ~/.ssh/id_ed25519.pub -p ${options.port} ${options.user}@${options.hostName}`,
      cause: error,
    });
  }
  switch (error.code) {
    case 'ECONNREFUSED':
      return new SshError(`connection to ${where} was refused: nothing listens for SSH there`, {
        fix: 'check that the server is up and sshd runs on that port (pass another with --host user@host:port)',
        cause: error,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SshError(`cannot resolve ${options.hostName}`, { fix: 'check the host name, or pass the IP address with --host', cause: error });
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new SshError(`no SSH answer from ${where} (${error.code})`, {
        fix: 'check the address and port, and that the firewall (or the provider\'s security group) allows SSH',
        cause: error,
      });
  }
  return new SshError(`SSH connection to ${where} failed: ${error.message}`, { cause: error });
}

function hostKeyAlgorithms(knownTypes: string[]): string[] {
  const preferred = knownTypes.flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]));
  return [...new Set([...preferred.filter((name) => HOST_KEY_ALGORITHMS.includes(name)), ...HOST_KEY_ALGORITHMS])];
}

function hostLabel(options: SshHostOptions): string {
  const host = options.hostName.includes(':') ? `[${options.hostName}]` : options.hostName;
  return `${options.user}@${host}:${options.port}`;
}

function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join('\n') || '(no error output)';
}
