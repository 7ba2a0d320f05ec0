// Reads ONE key out of a dotenv-style file (the operator's .env.local) without ever holding the
// rest of it: the other lines are someone's other secrets and must stay where they are.
import { readFile } from 'node:fs/promises';

/** Returns the value of `name` in the dotenv text, or undefined. Last assignment wins, like dotenv. */
export function pickEnvValue(text: string, name: string): string | undefined {
  let found: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match || match[1] !== name) continue;
    found = unquote(match[2]!);
  }
  return found === '' ? undefined : found;
}

function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  if (quoted) return quoted[2]!;
  // An unquoted value ends at an inline comment.
  return value.replace(/\s+#.*$/, '').trim();
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
