import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostKey, fingerprint, hostKeyChangedError, keyTypeOf, knownHostsName, knownKeyTypes, recordHostKey } from '../../src/host/known-hosts.js';
import { hasSystemComponent } from '../support/system-component.js';

interface Key {
  type: string;
  base64: string;
  blob: Buffer;
  pubPath: string;
}

describe.skipIf(!hasSystemComponent('ssh-keygen', 'openssh-client'))('known_hosts', () => {
  let dir: string;
  let ed: Key;
  let ed2: Key;
  let ecdsa: Key;
  const key = (name: string, type: string): Key => {
    const path = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path]);
    const [keyType, base64] = execFileSync('cat', [`${path}.pub`], { encoding: 'utf8' }).split(' ');
    return { type: keyType!, base64: base64!, blob: Buffer.from(base64!, 'base64'), pubPath: `${path}.pub` };
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-knownhosts-'));
    ed = key('ed', 'ed25519');
    ed2 = key('ed2', 'ed25519');
    ecdsa = key('ec', 'ecdsa');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, lines: string[]): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, lines.join('\n') + '\n');
    return path;
  };

  it('fingerprints keys exactly as ssh-keygen -lf does', () => {
    for (const k of [ed, ecdsa]) {
      expect(fingerprint(k.blob)).toBe(execFileSync('ssh-keygen', ['-lf', k.pubPath], { encoding: 'utf8' }).split(' ')[1]);
      expect(keyTypeOf(k.blob)).toBe(k.type);
    }
  });

  it('names servers on other ports [host]:port', () => {
    expect(knownHostsName('203.0.113.7', 22)).toBe('203.0.113.7');
    expect(knownHostsName('203.0.113.7', 2222)).toBe('[203.0.113.7]:2222');
  });

  it('matches plain entries, comma lists, wildcards and the port form', async () => {
    const path = await file('plain', [
      '# comment',
      `other.example ${ed2.type} ${ed2.base64}`,
      `relay.example.com,203.0.113.7 ${ed.type} ${ed.base64}`,
      `[203.0.113.7]:2222 ${ecdsa.type} ${ecdsa.base64}`,
      `*.wild.example,!bad.wild.example ${ed.type} ${ed.base64}`,
    ]);
    expect(await checkHostKey([path], '203.0.113.7', ed.blob)).toEqual({ status: 'known', file: path, line: 3 });
    expect(await checkHostKey([path], 'RELAY.example.com', ed.blob)).toMatchObject({ status: 'known' });
    expect(await checkHostKey([path], '[203.0.113.7]:2222', ecdsa.blob)).toEqual({ status: 'known', file: path, line: 4 });
    expect(await checkHostKey([path], 'a.wild.example', ed.blob)).toMatchObject({ status: 'known', line: 5 });
    expect(await checkHostKey([path], 'bad.wild.example', ed.blob)).toMatchObject({ status: 'unknown' });
    expect(await checkHostKey([path], 'unlisted.example', ed.blob)).toEqual({ status: 'unknown' });
  });

  it('matches hashed entries written by ssh-keygen -H', async () => {
    const path = await file('hashed', [`203.0.113.7 ${ed.type} ${ed.base64}`, `[203.0.113.7]:2222 ${ecdsa.type} ${ecdsa.base64}`]);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', path]);
    expect(await readFile(path, 'utf8')).not.toContain('203.0.113.7');
    expect(await checkHostKey([path], '203.0.113.7', ed.blob)).toMatchObject({ status: 'known', line: 1 });
    expect(await checkHostKey([path], '[203.0.113.7]:2222', ecdsa.blob)).toMatchObject({ status: 'known', line: 2 });
    // Known by another key type: changed, as OpenSSH says, never new.
    expect(await checkHostKey([path], '[203.0.113.7]:2222', ed2.blob)).toEqual({ status: 'changed', file: path, line: 2, knownType: 'ecdsa-sha2-nistp256' });
  });

  it('reports a changed key of the same type with its file and line', async () => {
    const path = await file('changed', [`x.example ${ecdsa.type} ${ecdsa.base64}`, `203.0.113.7 ${ed.type} ${ed.base64}`]);
    const check = await checkHostKey([join(dir, 'absent'), path], '203.0.113.7', ed2.blob);
    expect(check).toEqual({ status: 'changed', file: path, line: 2, knownType: 'ssh-ed25519' });
    const error = hostKeyChangedError('root@203.0.113.7:22', '203.0.113.7', { file: path, line: 2, knownType: 'ssh-ed25519' }, fingerprint(ed2.blob), 'ssh-ed25519');
    expect(error.message).toContain(`${path} line 2`);
    expect(error.fix).toContain(`ssh-keygen -f ${path} -R 203.0.113.7`);
  });

  it('refuses @revoked keys and skips @cert-authority lines', async () => {
    const path = await file('markers', [`@cert-authority *.example ${ed2.type} ${ed2.base64}`, `@revoked * ${ed.type} ${ed.base64}`, `h.example ${ed.type} ${ed.base64}`]);
    expect(await checkHostKey([path], 'h.example', ed.blob)).toMatchObject({ status: 'revoked', line: 2 });
    expect(await checkHostKey([path], 'h.example', ed2.blob)).toMatchObject({ status: 'changed', line: 3 });
  });

  it('records new keys, plain or hashed, in a file OpenSSH reads back', async () => {
    const path = join(dir, 'new', 'ssh', 'known_hosts');
    await recordHostKey(path, '[127.0.0.1]:2222', ed.blob);
    await recordHostKey(path, '203.0.113.9', ecdsa.blob, { hash: true });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'new', 'ssh'))).mode & 0o777).toBe(0o700);
    expect(execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', path], { encoding: 'utf8' })).toContain(ed.base64.trim());
    expect(execFileSync('ssh-keygen', ['-F', '203.0.113.9', '-f', path], { encoding: 'utf8' })).toContain(ecdsa.base64.trim());
    expect(await readFile(path, 'utf8')).not.toContain('203.0.113.9');
    expect(await knownKeyTypes([path], '203.0.113.9')).toEqual(['ecdsa-sha2-nistp256']);
  });
});
