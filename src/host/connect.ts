// One call from a `--host` string to a connected Host: target, ssh_config, known_hosts, SSH.
import { access } from 'node:fs/promises';
import { ConfigError } from '../shared/errors.js';
import type { Host } from './host.js';
import { expandHome, resolveSshSettings, type SshOverrides } from './ssh-config.js';
import { SshHost, type SshHostOptions } from './ssh-host.js';
import { parseTarget } from './target.js';

export interface ConnectOptions {
  /** `[user@]host[:port]`; host may be an ssh_config alias. */
  target: string;
  /** A private key file; replaces the ssh_config/default keys (the agent is still tried). */
  identity?: string;
  /** Trust and record a server key that known_hosts does not hold yet, without asking. */
  acceptNewHostKey?: boolean;
  /** Default: ssh_config UserKnownHostsFile, i.e. ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** Asked about an unknown server key (unless acceptNewHostKey); absent: refuse it. */
  confirmNewHostKey?(fingerprint: string, keyType: string): Promise<boolean>;
  timeoutMs?: number;
  /** Default $SSH_AUTH_SOCK. */
  agentSocket?: string;
}

export async function connectHost(options: ConnectOptions): Promise<Host> {
  const target = parseTarget(options.target);
  const overrides: SshOverrides = {};
  if (options.identity !== undefined) {
    const identity = expandHome(options.identity);
    await access(identity).catch(() => {
      throw new ConfigError(`--identity ${options.identity}: no such file`, { fix: 'pass the path of your private key, e.g. -i ~/.ssh/id_ed25519' });
    });
    overrides.identity = identity;
  }
  if (options.knownHostsFile !== undefined) overrides.knownHostsFile = options.knownHostsFile;
  const settings = await resolveSshSettings(target, overrides);

  const hostOptions: SshHostOptions = { ...settings };
  if (options.acceptNewHostKey) hostOptions.confirmNewHostKey = async () => true;
  else if (options.confirmNewHostKey) hostOptions.confirmNewHostKey = options.confirmNewHostKey;
  if (options.timeoutMs !== undefined) hostOptions.timeoutMs = options.timeoutMs;
  if (options.agentSocket !== undefined) hostOptions.agentSocket = options.agentSocket;
  return SshHost.connect(hostOptions);
}
