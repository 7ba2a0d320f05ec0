import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readLocalApiKey } from '../src/deploy-env.js';
import { pickEnvValue, readEnvFileValue, withEnvValue, writeEnvFileValue } from '../src/shared/env-local.js';

describe('reading one key out of .env.local', () => {
  it('takes only the named key, in the usual dotenv spellings', () => {
    const text = '# comment\nOTHER=x\nexport OPENAI_API_KEY = "sk-quoted"\n';
    expect(pickEnvValue(text, 'OPENAI_API_KEY')).toBe('sk-quoted');
    expect(pickEnvValue("OPENAI_API_KEY='sk-single'", 'OPENAI_API_KEY')).toBe('sk-single');
    expect(pickEnvValue('OPENAI_API_KEY=sk-bare # note', 'OPENAI_API_KEY')).toBe('sk-bare');
    expect(pickEnvValue('OPENAI_API_KEY_OLD=sk-wrong\r\nOPENAI_API_KEY=sk-right\r\n', 'OPENAI_API_KEY')).toBe('sk-right');
    expect(pickEnvValue('OPENAI_API_KEY=', 'OPENAI_API_KEY')).toBeUndefined();
    expect(pickEnvValue('NOPE=1', 'OPENAI_API_KEY')).toBeUndefined();
  });

  it('reads every form people write: export, quotes, inline comments, CRLF, BOM', () => {
    // The reported defect: the quotes went upstream with the key (a silent 401 from OpenAI).
    expect(pickEnvValue('OPENAI_API_KEY="sk-dq" # my key\nOPENAI_API_KEY_OLD=sk-decoy\n', 'OPENAI_API_KEY')).toBe('sk-dq');
    expect(pickEnvValue("OPENAI_API_KEY='sk-sq' # my key\nOPENAI_API_KEY_OLD=sk-decoy\n", 'OPENAI_API_KEY')).toBe('sk-sq');
    expect(pickEnvValue('export OPENAI_API_KEY=sk-exported # note\nOPENAI_API_KEY_OLD=sk-decoy\n', 'OPENAI_API_KEY')).toBe('sk-exported');
    expect(pickEnvValue('\uFEFFOPENAI_API_KEY=sk-bom\r\nOPENAI_API_KEY_OLD=sk-decoy\r\n', 'OPENAI_API_KEY')).toBe('sk-bom');
    expect(pickEnvValue('OPENAI_API_KEY="sk-crlf"\r\nOPENAI_API_KEY_OLD="sk-decoy"\r\n', 'OPENAI_API_KEY')).toBe('sk-crlf');
    // A # inside quotes is part of the value.
    expect(pickEnvValue('NOTE="a # b" # comment\n', 'NOTE')).toBe('a # b');
  });

  it('sends the unquoted key to the host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY="sk-quoted" # my key\nOPENAI_API_KEY_OLD=sk-decoy\n');
    expect(await readLocalApiKey(join(dir, '.env.local'))).toBe('sk-quoted');
  });

  it('treats a missing file as no value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    expect(await readEnvFileValue(join(dir, '.env.local'), 'OPENAI_API_KEY')).toBeUndefined();
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-file\n');
    expect(await readEnvFileValue(join(dir, '.env.local'), 'OPENAI_API_KEY')).toBe('sk-file');
  });
});

describe('saving a rotated token into .env.local', () => {
  it('replaces the key and keeps every other line', () => {
    expect(withEnvValue('A=1\nRELAY_TOKEN=old\nB=2\n', 'RELAY_TOKEN', 'new')).toBe('A=1\nRELAY_TOKEN=new\nB=2\n');
    expect(withEnvValue('A=1', 'RELAY_TOKEN', 'new')).toBe('A=1\nRELAY_TOKEN=new\n');
    expect(withEnvValue('', 'RELAY_TOKEN', 'new')).toBe('RELAY_TOKEN=new\n');
    expect(withEnvValue('RELAY_TOKEN=a\nX=1\nexport RELAY_TOKEN=b\n', 'RELAY_TOKEN', 'c')).toBe('X=1\nRELAY_TOKEN=c\n');
  });

  it('writes the file with mode 600, even when it was readable before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    const path = join(dir, '.env.local');
    await writeFile(path, 'OPENAI_API_KEY=sk-keep\n', { mode: 0o644 });
    await writeEnvFileValue(path, 'RELAY_TOKEN', 'tok');
    expect(await readFile(path, 'utf8')).toBe('OPENAI_API_KEY=sk-keep\nRELAY_TOKEN=tok\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe('a key whose name starts like the one asked for', () => {
  it('is a different key, before or after the real one', async () => {
    expect(pickEnvValue('OPENAI_API_KEY=sk-right\nOPENAI_API_KEY_OLD=sk-decoy\n', 'OPENAI_API_KEY')).toBe('sk-right');
    expect(pickEnvValue('export OPENAI_API_KEY="sk-right"\nexport OPENAI_API_KEY_OLD="sk-decoy"\n', 'OPENAI_API_KEY')).toBe('sk-right');
    expect(pickEnvValue('OPENAI_API_KEY_OLD=sk-decoy\n', 'OPENAI_API_KEY')).toBeUndefined();
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-right\nOPENAI_API_KEY_OLD=sk-decoy\n');
    expect(await readEnvFileValue(join(dir, '.env.local'), 'OPENAI_API_KEY')).toBe('sk-right');
  });

  it('writes through a symlinked .env.local to its target, keeping the link', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    await mkdir(join(dir, 'secrets'));
    const target = join(dir, 'secrets', 'relay.env');
    await writeFile(target, 'OPENAI_API_KEY=sk-keep\n', { mode: 0o600 });
    await symlink(target, join(dir, '.env.local'));
    await writeEnvFileValue(join(dir, '.env.local'), 'RELAY_TOKEN', 'tok');
    expect((await lstat(join(dir, '.env.local'))).isSymbolicLink()).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('OPENAI_API_KEY=sk-keep\nRELAY_TOKEN=tok\n');
  });

  it('creates its temp file exclusively under a random name: a planted link is not followed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched\n');
    const path = join(dir, '.env.local');
    // The name today's main would use, planted by someone who can write the directory.
    await symlink(victim, `${path}.${process.pid}.tmp`);
    await writeEnvFileValue(path, 'RELAY_TOKEN', 'tok');
    expect(await readFile(victim, 'utf8')).toBe('untouched\n');
    expect(await readFile(path, 'utf8')).toBe('RELAY_TOKEN=tok\n');
    expect((await readdir(dir)).sort()).toEqual(['.env.local', `.env.local.${process.pid}.tmp`, 'victim'].sort());
  });

  it('says when the file was readable by others before it was made 600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    const path = join(dir, '.env.local');
    await writeFile(path, 'OPENAI_API_KEY=sk-keep\n', { mode: 0o644 });
    await chmod(path, 0o644);
    expect(await writeEnvFileValue(path, 'RELAY_TOKEN', 'a')).toEqual({ wasReadableByOthers: true });
    expect(await writeEnvFileValue(path, 'RELAY_TOKEN', 'b')).toEqual({ wasReadableByOthers: false });
    expect(await writeEnvFileValue(join(dir, 'new.env'), 'RELAY_TOKEN', 'c')).toEqual({ wasReadableByOthers: false });
  });
});

describe('a .env.local that is not a regular file', () => {
  // A unix socket: it exists and can be renamed over, but cannot be read.
  async function socketFile() {
    const dir = await mkdtemp(join(tmpdir(), 'relay-env-sock-'));
    const path = join(dir, '.env.local');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return { path, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('is an error when read, not a missing value', async () => {
    const socket = await socketFile();
    try {
      await expect(readEnvFileValue(socket.path, 'OPENAI_API_KEY')).rejects.toMatchObject({ code: 'ENXIO' });
    } finally {
      await socket.close();
    }
  });

  it('is refused before anything is written over it', async () => {
    const socket = await socketFile();
    try {
      await expect(writeEnvFileValue(socket.path, 'RELAY_TOKEN', 'x')).rejects.toMatchObject({ code: 'ENXIO' });
      expect((await lstat(socket.path)).isSocket()).toBe(true);
    } finally {
      await socket.close();
    }
  });
});

// An immutable file (chattr +i) needs root with CAP_LINUX_IMMUTABLE and a filesystem that keeps the attribute.
async function canMakeImmutable(): Promise<boolean> {
  const probe = join(await mkdtemp(join(tmpdir(), 'envlocal-')), 'probe');
  await writeFile(probe, '');
  try {
    await execa('chattr', ['+i', probe]);
    await execa('chattr', ['-i', probe]);
    return true;
  } catch (error) {
    console.warn(`skipped: chattr +i refused here (${(error as Error).message.split('\n')[0]}); run as root on ext4 to test a refused rename`);
    return false;
  }
}

const immutableFiles = await canMakeImmutable();

describe('a .env.local the filesystem will not let be replaced (chattr +i)', () => {
  it.runIf(immutableFiles)('fails with the reason, keeps the file as it was and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    const path = join(dir, '.env.local');
    await writeFile(path, 'OPENAI_API_KEY=sk-keep\n', { mode: 0o600 });
    await execa('chattr', ['+i', path]);
    try {
      await expect(writeEnvFileValue(path, 'RELAY_TOKEN', 'tok')).rejects.toMatchObject({ code: 'EPERM', syscall: 'rename' });
      expect(await readFile(path, 'utf8')).toBe('OPENAI_API_KEY=sk-keep\n');
      expect(await readdir(dir)).toEqual(['.env.local']);
    } finally {
      await execa('chattr', ['-i', path]);
    }
  });
});

describe('a byte-order mark', () => {
  it('is dropped only at the start of the file, never from a value', () => {
    expect(pickEnvValue('\uFEFFOPENAI_API_KEY=sk-1\n', 'OPENAI_API_KEY')).toBe('sk-1');
    expect(pickEnvValue('OPENAI_API_KEY=sk-\uFEFF1\n', 'OPENAI_API_KEY')).toBe('sk-\uFEFF1');
  });
});
