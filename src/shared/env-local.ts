// Shared: the CLI reads OPENAI_API_KEY from .env.local; the relay re-reads RELAY_TOKEN from RELAY_ENV_FILE.
// Reads ONE key out of a dotenv-style file (the operator's .env.local) without ever holding the
// rest of it: the other lines are someone's other secrets and must stay where they are.
import { randomBytes } from 'node:crypto';
import { lstat, open, readFile, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'dotenv';

/**
 * The one dotenv parser (the `dotenv` package): `export`, single/double/back quotes, inline
 * comments, CRLF and a BOM, as people write them. Last assignment wins.
 */
export function parseDotenv(text: string): Record<string, string> {
  return parse(text.replace(/^\uFEFF/, ''));
}

/** Returns the value of `name` in the dotenv text, or undefined when absent or empty. */
export function pickEnvValue(text: string, name: string): string | undefined {
  const value = parseDotenv(text)[name];
  return value === '' ? undefined : value;
}

/** Reads `name` from a dotenv file; a missing file is not an error. */
export async function readEnvFileValue(path: string, name: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return pickEnvValue(text, name);
}

/** Returns the dotenv text with `name` set to `value`: the last assignment replaced, or a line appended. */
export function withEnvValue(text: string, name: string, value: string): string {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const assigns = (line: string) => new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`).test(line);
  let last = -1;
  lines.forEach((line, index) => {
    if (assigns(line)) last = index;
  });
  // Earlier duplicates would be dead lines holding an old secret: drop them.
  const kept = lines.filter((line, index) => !assigns(line) || index === last);
  const line = `${name}=${value}`;
  const at = kept.findIndex(assigns);
  if (at === -1) kept.push(line);
  else kept[at] = line;
  return `${kept.join('\n')}\n`;
}

/**
 * Sets one key in a dotenv file, keeping every other line as it was. The file ends up mode 600
 * (it holds secrets) and is replaced atomically: a temp file under a random name, created
 * exclusively (O_EXCL, so a planted file or link there is never followed), then renamed over it.
 * A symlinked file is written through to its target, the link kept. Says whether group or others
 * could read the file before, so the command can warn.
 */
export async function writeEnvFileValue(path: string, name: string, value: string): Promise<{ wasReadableByOthers: boolean }> {
  const target = await linkTarget(path);
  let text = '';
  let mode: number | undefined;
  try {
    [text, { mode }] = await Promise.all([readFile(target, 'utf8'), stat(target)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temp = `${target}.${randomBytes(8).toString('hex')}.tmp`;
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(withEnvValue(text, name, value));
    await file.chmod(0o600); // the umask may have taken bits the mode above asked for; 600 is the point
    await file.close();
    await rename(temp, target);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  return { wasReadableByOthers: mode !== undefined && (mode & 0o077) !== 0 };
}

/** The file a path names, through any symlinks (even one whose target does not exist yet). */
async function linkTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const link = await lstat(path).catch(() => undefined);
    return link?.isSymbolicLink() ? resolve(dirname(path), await readlink(path)) : path;
  }
}
