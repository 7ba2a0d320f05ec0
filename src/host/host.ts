// A machine the CLI acts on. SSH for real hosts (ssh-host.ts), a local shell for testing the
// executor itself (local-host.ts). Everything above this interface is host-agnostic.

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status of the remote command (null when it died from a signal). */
  code: number | null;
}

export interface RunOptions {
  /** Run as root: `sudo -n` for a non-root login; nothing for root. */
  sudo?: boolean;
  /** Bytes fed to the command's stdin: how secrets travel (never in a command line). */
  stdin?: string | Buffer;
  /** Working directory on the host. */
  cwd?: string;
}

export interface FileSpec {
  path: string;
  content: string | Buffer;
  /** Octal string such as '0600'. */
  mode: string;
  /** 'user:group', such as 'root:root'. */
  owner: string;
}

export interface StreamOptions extends RunOptions {
  onStdout(chunk: Buffer): void;
  onStderr?(chunk: Buffer): void;
  /** Aborting ends the remote command (Ctrl-C for `relay logs -f`). */
  signal?: AbortSignal;
}

export interface Host {
  /** Human name for messages, e.g. "ops@203.0.113.7:22". */
  readonly label: string;
  /** The IP address this machine reaches the host at (for requests through its nginx). */
  readonly address: string;
  run(command: string, options?: RunOptions): Promise<RunResult>;
  /** Like run, but hands output over as it arrives. Resolves with the exit code. */
  stream(command: string, options: StreamOptions): Promise<number | null>;
  /** Writes a file atomically (temp file + rename) with owner and mode, over SFTP/stdin. */
  writeFile(file: FileSpec): Promise<void>;
  /** Uploads a local file (large artifacts) to `remotePath`, then sets owner and mode. */
  uploadFile(localPath: string, file: Omit<FileSpec, 'content'>): Promise<void>;
  close(): Promise<void>;
}
