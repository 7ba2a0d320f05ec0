// A tokens.json as `relay token add` leaves it (each name with its token's hash only), for a relay under test.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addToken, emptyTokensFile, renderTokensFile, sha256Hex } from '../../src/shared/tokens-file.js';

/** Writes a tokens file holding each name's token, in a new temp dir; resolves with its path (for RELAY_TOKENS_FILE). */
export async function tokensFileWith(tokens: Record<string, string>): Promise<string> {
  let file = emptyTokensFile();
  for (const [name, token] of Object.entries(tokens)) file = addToken(file, { name, sha256: sha256Hex(token) }, Date.now());
  const path = join(await mkdtemp(join(tmpdir(), 'relay-tokens-')), 'tokens.json');
  await writeFile(path, renderTokensFile(file), { mode: 0o600 });
  return path;
}
