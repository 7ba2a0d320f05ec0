import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIR_MARKER, appDirOwnerCheckCommand, appDirOwnerError, checkAppDir } from '../src/app-dir.js';
import { ConfigError } from '../src/shared/errors.js';

describe('--app-dir as a path, before anything connects', () => {
  it('takes a directory of its own', () => {
    for (const path of ['/opt/relay', '/srv/relay', '/home/ops/relay', '/var/lib/relay', '/data/relay-prod']) expect(checkAppDir(path)).toBe(path);
  });

  it('refuses system directories and the trees they hold, naming the source', () => {
    for (const path of ['/', '/etc', '/root', '/tmp', '/usr', '/var', '/home', '/bin', '/opt', '/usr/local', '/var/lib', '/var/www', '/home/ubuntu', '/etc/relay', '/root/relay', '/run/relay', '/proc/1']) {
      expect(() => checkAppDir(path), path).toThrow(ConfigError);
      expect(() => checkAppDir(path, 'appDir in relay.json'), path).toThrow(/appDir in relay.json .* is a system directory/);
    }
  });

  it('refuses paths that are not plain and absolute', () => {
    for (const path of ['relay', '/opt/../etc', '/opt/./relay', '/opt//relay', '/opt/relay/', '/opt/re lay', '/opt/$(id)', '']) {
      expect(() => checkAppDir(path), path).toThrow(/must be a plain absolute path/);
    }
  });
});

describe('an existing app directory on the host, before any change', () => {
  let root: string;
  const check = async (dir: string) => (await execa('sh', ['-c', appDirOwnerCheckCommand(dir)], { reject: false })).exitCode ?? null;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'relay-appdir-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is fine when absent: relay creates it', async () => {
    expect(await check(join(root, 'absent'))).toBe(0);
  });

  it('is relay\'s with the marker, or with the compose.yaml + .env a deploy of today\'s relay wrote', async () => {
    const marked = join(root, 'marked');
    await mkdir(marked);
    await writeFile(join(marked, APP_DIR_MARKER), '');
    expect(await check(marked)).toBe(0);
    const old = join(root, 'old');
    await mkdir(old);
    await writeFile(join(old, '.env'), 'OPENAI_API_KEY=sk-x\n');
    await writeFile(join(old, 'compose.yaml'), 'services:\n  relay:\n    labels:\n      relay.deploy-hash: "abc"\n');
    expect(await check(old)).toBe(0);
  });

  it('refuses a directory someone else made, even an empty one, and anything that is not a directory', async () => {
    const theirs = join(root, 'theirs');
    await mkdir(theirs);
    await writeFile(join(theirs, 'compose.yaml'), 'services: {}\n');
    expect(await check(theirs)).toBe(3);
    const empty = join(root, 'empty');
    await mkdir(empty);
    expect(await check(empty)).toBe(3);
    const file = join(root, 'file');
    await writeFile(file, '');
    expect(await check(file)).toBe(4);
    const link = join(root, 'link');
    await symlink(join(root, 'marked'), link);
    expect(await check(link)).toBe(4);
    const error = appDirOwnerError('/srv/app', 'root@203.0.113.7:22', 3)!;
    expect(error.message).toContain('relay did not create it');
    expect(error.fix).toContain('--app-dir');
  });
});
