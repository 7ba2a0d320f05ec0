// The options every server command shares (--host, -i, --accept-new-host-key, -y), and turning
// them into a connected Host: flags over relay.json, asking only on a terminal and without --yes.
import { type Command, Option } from 'commander';
import { createPromptModule } from 'inquirer';
import { ConfigError } from '../shared/errors.js';
import { connectHost, type ConnectOptions } from '../host/connect.js';
import type { Host } from '../host/host.js';
import { formatTarget, parseTarget, type Target } from '../host/target.js';
import { loadProjectFile, type ProjectSettings, saveProjectFile } from '../project-file.js';

export interface TargetOptions {
  host?: string;
  identity?: string;
  acceptNewHostKey?: boolean;
  knownHosts?: string;
  yes?: boolean;
}

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--host <[user@]host[:port]>', 'the server, e.g. root@203.0.113.7 or an ~/.ssh/config alias (default: from relay.json)'))
    .option('-i, --identity <file>', 'SSH private key to log in with (default: ssh config, ~/.ssh/id_*, then ssh-agent)')
    .option('--accept-new-host-key', "trust the server's SSH host key on first contact without asking (check its fingerprint first)")
    .option('--known-hosts <file>', 'known_hosts file to check and record host keys in (default: from ssh config, ~/.ssh/known_hosts)')
    .option('-y, --yes', 'never ask; fail with a message naming the missing flag instead');
}

/**
 * Connects to the server named by the flags, or by relay.json when --host is absent, and records
 * the target in relay.json once connected, so later commands need no flags.
 */
export async function openHost(opts: TargetOptions, context: { cwd?: string; knownHostsFile?: string } = {}): Promise<Host> {
  const cwd = context.cwd ?? process.cwd();
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !opts.yes;
  // Prompts go to stderr so stdout stays clean for `relay logs | grep`.
  const prompt = createPromptModule({ output: process.stderr });
  const project = await loadProjectFile(cwd);

  let target: Target | undefined;
  if (opts.host !== undefined) {
    target = parseTarget(opts.host);
    // `--host` naming the remembered server keeps the remembered user and port it does not repeat.
    if (target.host === project.host) target = { ...rememberedTarget(project), ...target };
  } else if (project.host !== undefined) {
    target = rememberedTarget(project);
  }
  if (target === undefined) {
    if (!interactive) {
      throw new ConfigError('no server given and no relay.json here', {
        fix: 'pass --host [user@]host[:port], e.g. --host root@203.0.113.7 (later commands in this directory remember it)',
      });
    }
    const { host } = await prompt<{ host: string }>([
      {
        type: 'input',
        name: 'host',
        message: 'Server to use ([user@]host[:port]):',
        validate: (text: string) => {
          try {
            parseTarget(text);
            return true;
          } catch (error) {
            return (error as Error).message;
          }
        },
      },
    ]);
    target = parseTarget(host);
  }

  // The key and known_hosts come from flags or ssh_config only, never from relay.json.
  const options: ConnectOptions = { target: formatTarget(target) };
  if (opts.identity !== undefined) options.identity = opts.identity;
  const knownHostsFile = opts.knownHosts ?? context.knownHostsFile;
  if (knownHostsFile !== undefined) options.knownHostsFile = knownHostsFile;
  if (opts.acceptNewHostKey) options.acceptNewHostKey = true;
  else if (interactive) {
    const where = formatTarget(target);
    options.confirmNewHostKey = async (fingerprint, keyType) => {
      process.stderr.write(
        `The authenticity of ${where} can't be established.\n${keyType} key fingerprint is ${fingerprint}.\n` +
          "Compare it with the fingerprint your provider shows for the server (or `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on its console).\n",
      );
      const { trust } = await prompt<{ trust: boolean }>([{ type: 'confirm', name: 'trust', message: 'Trust this key and continue?', default: false }]);
      return trust;
    };
  }

  const host = await connectHost(options);
  const remembered = { host: target.host, user: target.user ?? null, port: target.port ?? null };
  if (Object.entries(remembered).some(([name, value]) => (project[name as keyof typeof project] ?? null) !== value)) {
    await saveProjectFile(cwd, remembered);
  }
  return host;
}

function rememberedTarget(project: ProjectSettings): Target {
  const target: Target = { host: project.host! };
  if (project.user !== undefined) target.user = project.user;
  if (project.port !== undefined) target.port = project.port;
  return target;
}

/** Opens the target host, runs `fn`, always closes the connection. */
export async function withHost<T>(options: TargetOptions, fn: (host: Host) => Promise<T>): Promise<T> {
  const host = await openHost(options);
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}
