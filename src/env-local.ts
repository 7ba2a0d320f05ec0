// Reads ONE key out of a dotenv-style file (the operator's .env.local) without ever holding the
// rest of it: the other lines are someone's other secrets and must stay where they are.
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
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
 * (it holds secrets) and is replaced atomically.
 */
export async function writeEnvFileValue(path: string, name: string, value: string): Promise<void> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, withEnvValue(text, name, value), { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}
