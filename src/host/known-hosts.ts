// ~/.ssh/known_hosts, read and written the way OpenSSH does, so `relay` and `ssh` agree on which
// servers are trusted: plain and hashed (|1|salt|hash) names, [host]:port for other ports.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostKeyError } from '../shared/errors.js';
import { shellQuote } from './shell.js';

export type HostKeyCheck =
  | { status: 'known'; file: string; line: number }
  | { status: 'unknown' }
  | { status: 'changed'; file: string; line: number; knownType: string }
  | { status: 'revoked'; file: string; line: number };

/** `SHA256:` + unpadded base64 of the key blob: what `ssh-keygen -lf` and ssh's prompt print. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name inside an SSH public key blob, e.g. 'ssh-ed25519'. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** How known_hosts names a server: the bare host on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry {
  file: string;
  line: number;
  marker: string | undefined;
  type: string;
  blob: Buffer;
}

export async function checkHostKey(files: string[], name: string, keyBlob: Buffer): Promise<HostKeyCheck> {
  const entries = await entriesFor(files, name);
  const serverType = keyTypeOf(keyBlob);
  const revoked = entries.find((entry) => entry.marker === '@revoked' && entry.blob.equals(keyBlob));
  if (revoked) return { status: 'revoked', file: revoked.file, line: revoked.line };
  const trusted = entries.filter((entry) => entry.marker === undefined);
  const match = trusted.find((entry) => entry.blob.equals(keyBlob));
  if (match) return { status: 'known', file: match.file, line: match.line };
  // A host known by another key type is not new: OpenSSH's accept-new refuses it as changed too,
  // or an attacker could offer a type the client holds no key for.
  const known = trusted.find((entry) => entry.type === serverType) ?? trusted[0];
  if (known) return { status: 'changed', file: known.file, line: known.line, knownType: known.type };
  return { status: 'unknown' };
}

/** Key types trusted for `name`, so the handshake can prefer one we can verify (as OpenSSH does). */
export async function knownKeyTypes(files: string[], name: string): Promise<string[]> {
  const entries = await entriesFor(files, name);
  return [...new Set(entries.filter((entry) => entry.marker === undefined).map((entry) => entry.type))];
}

/** Appends a line for a newly trusted server; creates ~/.ssh (0700) and the file (0600) if missing. */
export async function recordHostKey(file: string, name: string, keyBlob: Buffer, options: { hash?: boolean } = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const hostField = options.hash ? hashName(name) : name;
  const separator = existing && !existing.endsWith('\n') ? '\n' : '';
  await appendFile(file, `${separator}${hostField} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
  if (existing === undefined) await chmod(file, 0o600);
}

/** The refusal for a changed key: names the line that disagrees and how to forget it. */
export function hostKeyChangedError(
  label: string,
  name: string,
  check: { file: string; line: number; knownType: string },
  serverFingerprint: string,
  keyType: string,
): HostKeyError {
  const held = check.knownType === keyType
    ? `holds a different ${keyType} key; the server now presents ${serverFingerprint}`
    : `holds its ${check.knownType} key, but the server now offers only a ${keyType} key (${serverFingerprint})`;
  return new HostKeyError(
    `the host key of ${label} has changed: ${check.file} line ${check.line} ${held}. This can mean someone is intercepting the connection, ` +
      'or the server was reinstalled. relay will not connect.',
    {
      fix:
        `if you reinstalled the server, check the new fingerprint on its console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), ` +
        `then remove the old key with \`ssh-keygen -f ${shellQuote(check.file)} -R ${shellQuote(name)}\` and run the command again`,
    },
  );
}

async function entriesFor(files: string[], name: string): Promise<Entry[]> {
  const wanted = name.toLowerCase();
  const entries: Entry[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return '';
      throw error;
    });
    text.split('\n').forEach((raw, index) => {
      const fields = raw.trim().split(/\s+/);
      if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
      const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
      if (marker === '@cert-authority') return; // host certificates are not supported; skip, as for unknown lines
      const [hosts, type, base64] = fields;
      if (hosts === undefined || type === undefined || base64 === undefined) return;
      if (!hostFieldMatches(hosts, wanted)) return;
      entries.push({ file, line: index + 1, marker, type, blob: Buffer.from(base64, 'base64') });
    });
  }
  return entries;
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (salt === undefined || hash === undefined) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of field.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatches(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${source}$`).test(name);
}

function hashName(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}
