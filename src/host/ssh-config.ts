// What OpenSSH would use for a host: `ssh -G` applies ~/.ssh/config (aliases, HostName, User, Port,
// IdentityFile), so `--host myvps` behaves as `ssh myvps` does. Flags win over the config.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ConfigError } from '../shared/errors.js';
import type { Target } from './target.js';

export interface SshSettings {
  /** The address to connect to (ssh_config HostName, or the host as typed). */
  hostName: string;
  user: string;
  port: number;
  /** Candidate private keys, in order, ~ expanded; they may not exist. */
  identityFiles: string[];
  /** The first one is where new host keys are recorded. */
  knownHostsFiles: string[];
  /** HashKnownHosts: record new hosts as |1|salt|hash, as OpenSSH would. */
  hashKnownHosts: boolean;
  /** Name looked up in known_hosts instead of the host (ssh_config HostKeyAlias). */
  hostKeyAlias?: string;
}

export interface SshOverrides {
  /** `-i`: only this key is tried (then the agent). */
  identity?: string;
  knownHostsFile?: string;
  /** An ssh_config to read instead of ~/.ssh/config (ssh -F). */
  configFile?: string;
}

const DEFAULT_USER = 'root';

export async function resolveSshSettings(target: Target, overrides: SshOverrides = {}): Promise<SshSettings> {
  const config = overrides.configFile === undefined ? [] : ['-F', overrides.configFile];
  const [configured, baseline] = await Promise.all([sshG(target.host, config), sshG(target.host, ['-F', '/dev/null'])]);
  const settings = configured ? settingsFromSshG(configured, baseline) : fallbackSettings(target.host);
  if (target.user !== undefined) settings.user = target.user;
  if (target.port !== undefined) settings.port = target.port;
  if (overrides.identity !== undefined) settings.identityFiles = [expandHome(overrides.identity)];
  if (overrides.knownHostsFile !== undefined) settings.knownHostsFiles = [expandHome(overrides.knownHostsFile)];
  return settings;
}

/** Parses `ssh -G` output (keywords are lower-cased, one per line, repeated for lists). */
export function parseSshG(output: string): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const match = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    const key = match[1]!.toLowerCase();
    options.set(key, [...(options.get(key) ?? []), match[2]!]);
  }
  return options;
}

/**
 * `ssh -G` always reports a user (the local one when the config names none), so the config's user
 * only counts when it differs from what ssh says without any config; otherwise relay's default, root.
 */
export function settingsFromSshG(configured: Map<string, string[]>, baseline?: Map<string, string[]>): SshSettings {
  const first = (key: string): string | undefined => configured.get(key)?.[0];
  const proxy = first('proxyjump') ?? first('proxycommand');
  if (proxy !== undefined && proxy !== 'none') {
    throw new ConfigError(`your ssh config routes this host through a proxy (${proxy}), which relay cannot follow`, {
      fix: 'connect to the VPS address directly: --host user@address',
    });
  }
  const user = first('user');
  const configuredUser = user !== undefined && user !== baseline?.get('user')?.[0] ? user : undefined;
  const alias = first('hostkeyalias');
  const settings: SshSettings = {
    hostName: first('hostname') ?? '',
    user: configuredUser ?? DEFAULT_USER,
    port: Number(first('port') ?? 22),
    identityFiles: (configured.get('identityfile') ?? []).map(expandHome),
    knownHostsFiles: (configured.get('userknownhostsfile') ?? []).flatMap((line) => line.split(/\s+/)).map(expandHome),
    hashKnownHosts: first('hashknownhosts') === 'yes',
  };
  if (alias !== undefined && alias !== 'none') settings.hostKeyAlias = alias;
  if (settings.knownHostsFiles.length === 0) settings.knownHostsFiles = [join(homedir(), '.ssh', 'known_hosts')];
  return settings;
}

function fallbackSettings(host: string): SshSettings {
  const ssh = join(homedir(), '.ssh');
  return {
    hostName: host,
    user: DEFAULT_USER,
    port: 22,
    identityFiles: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(ssh, name)),
    knownHostsFiles: [join(ssh, 'known_hosts')],
    hashKnownHosts: false,
  };
}

async function sshG(host: string, extra: string[]): Promise<Map<string, string[]> | undefined> {
  // No ssh binary (or a broken config): fall back to OpenSSH's defaults rather than fail.
  const result = await execa('ssh', [...extra, '-G', '--', host], { reject: false, timeout: 5_000, stdin: 'ignore' }).catch(() => undefined);
  if (!result || result.exitCode !== 0) return undefined;
  return parseSshG(result.stdout);
}

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}
