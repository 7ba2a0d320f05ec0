// Disposable "fresh VPS" hosts: containers running systemd and sshd, reachable on 127.0.0.1, each
// with its own host key and its own /var/lib/docker volume so the CLI can install Docker inside.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { ensureHostImage, IDENTITY_FILE } from './images.js';
import { docker, run, waitFor, type RunResult } from './run.js';

export { ensureHostImage, ensureNodeBaseImage, CACHE_DIR, HOST_IMAGE, NODE_IMAGE, IDENTITY_FILE } from './images.js';

export const NAME_PREFIX = 'relay-e2e-';
const LABEL = 'relay-e2e';
const OWNER_LABEL = 'relay-e2e.owner-pid';

export interface TestHost {
  /** Container name, also the host's hostname. */
  name: string;
  /** The loopback address the host's ports are published on (127.0.0.1 unless given). */
  sshHost: string;
  sshPort: number;
  /** Ports on `sshHost` where the host's :80 and :443 are published. */
  httpPort: number;
  httpsPort: number;
  user: 'ops';
  identityFile: string;
  /** This machine's address as seen from inside the host (its Docker bridge gateway). */
  gateway: string;
  /** Runs `bash -c cmd` inside as root, for test setup and assertions only (the CLI uses SSH). */
  exec(cmd: string, opts?: { timeoutMs?: number; input?: string | Buffer }): Promise<RunResult>;
  /** Copies a local image into the host's Docker engine; Docker must be installed inside first. */
  loadImage(image: string): Promise<void>;
  /** Removes the container and its volume; safe to call more than once. */
  destroy(): Promise<void>;
}

// Same effect as --privileged, which fails here (the sandbox lacks CAP_SYS_RESOURCE); systemd needs
// the cgroup tree and a tmpfs /run, and Docker-in-Docker needs the capabilities.
const RUN_FLAGS = [
  '--cap-add=ALL', '--cap-drop=SYS_RESOURCE',
  '--security-opt', 'seccomp=unconfined',
  '--security-opt', 'apparmor=unconfined',
  '--security-opt', 'systempaths=unconfined',
  '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
  '--tmpfs', '/run', '--tmpfs', '/run/lock',
];

export interface TestHostOptions {
  name?: string;
  bootTimeoutMs?: number;
  /**
   * Publish 22/80/443 on this loopback address at the same port numbers, like a VPS with its own
   * IP: DNS can point a test domain at it and ACME's HTTP-01 check reaches port 80. Without it,
   * ports are published on 127.0.0.1 at free numbers.
   */
  address?: string;
}

export async function startTestHost(opts: TestHostOptions = {}): Promise<TestHost> {
  const image = await ensureHostImage();
  await removeLeftoverHosts();
  const name = `${NAME_PREFIX}${opts.name ?? 'host'}-${randomBytes(3).toString('hex')}`;
  const volume = `${name}-docker`;
  const labels = ['--label', LABEL, '--label', `${OWNER_LABEL}=${process.pid}`];

  const address = opts.address ?? '127.0.0.1';
  const publish = (port: number) => ['-p', opts.address ? `${address}:${port}:${port}` : `${address}::${port}`];
  const host = {
    name,
    sshHost: address,
    user: 'ops',
    identityFile: IDENTITY_FILE,
    exec: (cmd, o = {}) =>
      docker(['exec', ...(o.input === undefined ? [] : ['-i']), '-e', 'DEBIAN_FRONTEND=noninteractive', name, 'bash', '-c', cmd], {
        timeoutMs: o.timeoutMs ?? 120_000,
        input: o.input,
        allowFailure: true,
      }),
    loadImage: async (img) => {
      await run('bash', ['-o', 'pipefail', '-c', 'docker save "$1" | docker exec -i "$2" docker load', '_', img, name], {
        timeoutMs: 300_000,
      });
    },
    destroy: async () => {
      await docker(['rm', '-f', '-v', name], { allowFailure: true, timeoutMs: 60_000 });
      await docker(['volume', 'rm', '-f', volume], { allowFailure: true, timeoutMs: 60_000 });
    },
  } as TestHost;

  try {
    await docker(['volume', 'create', ...labels, volume]);
    await docker([
      'run', '-d', '--name', name, '--hostname', name, ...labels, ...RUN_FLAGS,
      '-v', `${volume}:/var/lib/docker`,
      ...publish(22), ...publish(80), ...publish(443),
      image, '/sbin/init',
    ]);
    const { ports, gateway } = await inspect(name);
    Object.assign(host, { sshPort: ports['22'], httpPort: ports['80'], httpsPort: ports['443'], gateway });
    await waitForBoot(host, opts.bootTimeoutMs ?? 60_000);
    return host;
  } catch (e) {
    const logs = await docker(['logs', '--tail', '30', name], { allowFailure: true }).catch(() => undefined);
    await host.destroy();
    if (e instanceof Error && logs) e.message += `\n--- last lines of ${name}'s console ---\n${logs.stdout}${logs.stderr}`;
    throw e;
  }
}

/** Removes hosts and volumes left by earlier runs whose process is gone (crashed or killed). */
export async function removeLeftoverHosts(): Promise<void> {
  const list = async (kind: 'container' | 'volume') => {
    const fmt = kind === 'container' ? '{{.Names}} {{.Label "relay-e2e.owner-pid"}}' : '{{.Name}} {{.Label "relay-e2e.owner-pid"}}';
    const { stdout } = await docker([kind, 'ls', ...(kind === 'container' ? ['-a'] : []), '--filter', `label=${LABEL}`, '--format', fmt]);
    return stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string | undefined]);
  };
  for (const [name, pid] of await list('container')) {
    if (!isAlive(Number(pid))) await docker(['rm', '-f', '-v', name], { allowFailure: true });
  }
  for (const [name, pid] of await list('volume')) {
    if (!isAlive(Number(pid))) await docker(['volume', 'rm', '-f', name], { allowFailure: true });
  }
}

/** SHA256 fingerprint of the host's ed25519 key, read from inside (independent of the SSH path). */
export async function hostKeyFingerprint(host: TestHost): Promise<string> {
  const r = await host.exec('ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_ed25519_key.pub');
  const fp = r.stdout.split(' ')[1];
  if (r.exitCode !== 0 || !fp?.startsWith('SHA256:')) throw new Error(`no host key on ${host.name}: ${r.stderr}`);
  return fp;
}

/** Arguments for the system `ssh` to log in as ops (before the destination and command). */
export function sshArgs(host: TestHost): string[] {
  return [
    '-p', String(host.sshPort), '-i', host.identityFile,
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  ];
}

async function inspect(name: string): Promise<{ ports: Record<string, number>; gateway: string }> {
  const { stdout } = await docker(['inspect', name]);
  const info = JSON.parse(stdout)[0];
  const ports: Record<string, number> = {};
  for (const p of ['22', '80', '443']) {
    const port = Number(info.NetworkSettings.Ports[`${p}/tcp`]?.[0]?.HostPort);
    if (!port) throw new Error(`${name}: port ${p} was not published`);
    ports[p] = port;
  }
  const gateway: string = info.NetworkSettings.Gateway;
  if (!gateway) throw new Error(`${name}: no bridge gateway (not on the default bridge network?)`);
  return { ports, gateway };
}

async function waitForBoot(host: TestHost, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // `degraded` is the normal end state here: systemd-modules-load fails in a container.
  await waitFor(`${host.name}: systemd`, timeoutMs, async () => {
    const { stdout } = await host.exec('systemctl is-system-running', { timeoutMs: 10_000 });
    const state = stdout.trim();
    if (state === 'running' || state === 'degraded') return state;
    if (state === 'maintenance' || state === 'stopping') throw new Error(`system is ${state}`);
    throw new Error(`system is ${state || 'not up'}`);
  });
  // docker-proxy accepts TCP before sshd listens inside, so wait for sshd's banner itself.
  await waitFor(`${host.name}: sshd`, Math.max(deadline - Date.now(), 5_000), () => sshBanner(host.sshHost, host.sshPort));
}

function sshBanner(address: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port, timeout: 3_000 });
    const done = (v: string | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.once('data', (d) => done(d.toString().startsWith('SSH-') ? d.toString().trim() : undefined));
    sock.once('timeout', () => done(undefined));
    sock.once('error', () => done(undefined));
    sock.once('close', () => done(undefined));
  });
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
