// Named tokens: identified by hash, with expiry, revocation, rotation grace and live reload.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLogger } from '../../src/relay/log.js';
import { createTokenRegistry, followTokensFile } from '../../src/relay/access/token-registry.js';
import { addToken, emptyTokensFile, renderTokensFile, revokeToken, rotateToken, sha256Hex, withDefaultToken, type TokensFile } from '../../src/shared/tokens-file.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const bearer = (token: string) => `Bearer ${token}`;

function fileWith(...tokens: Array<[string, string, object?]>): TokensFile {
  return tokens.reduce((file, [name, token, extra]) => addToken(file, { name, sha256: sha256Hex(token), ...extra }, T0), emptyTokensFile());
}

describe('identifying callers by token', () => {
  it('names the caller and its limits; unknown or missing tokens are nobody', () => {
    const registry = createTokenRegistry({ file: fileWith(['alice', 'tok-alice', { rpm: 60, concurrency: 2 }], ['bob', 'tok-bob']), now: () => T0 });
    expect(registry.identify(bearer('tok-alice'))).toEqual({ name: 'alice', limits: { rpm: 60, concurrency: 2 } });
    expect(registry.identify('bearer   tok-bob ')).toEqual({ name: 'bob', limits: {} });
    expect(registry.identify(bearer('tok-carol'))).toBeUndefined();
    expect(registry.identify(undefined)).toBeUndefined();
    expect(registry.identify('Basic dG9rLWFsaWNl')).toBeUndefined();
  });

  it('keeps RELAY_TOKEN from the environment working as "default" while the tokens file has no default entry', () => {
    const registry = createTokenRegistry({ envToken: 'env-token', file: fileWith(['alice', 'tok-alice']), now: () => T0 });
    expect(registry.identify(bearer('env-token'))?.name).toBe('default');
    expect(registry.identify(bearer('tok-alice'))?.name).toBe('alice');
    expect(registry.isOpen()).toBe(false);
    expect(createTokenRegistry({ envToken: 'env-token' }).identify(bearer('env-token'))?.name).toBe('default');
  });

  it('is open only with neither RELAY_TOKEN nor a tokens file; an empty tokens file lets nobody in', () => {
    expect(createTokenRegistry().identify(undefined)?.name).toBe('default');
    const closed = createTokenRegistry({ file: emptyTokensFile() });
    expect(closed.isOpen()).toBe(false);
    expect(closed.identify(bearer('anything'))).toBeUndefined();
  });

  it('refuses expired and revoked tokens, and accepts a rotated one\'s old value during its grace', () => {
    let now = T0;
    let file = fileWith(['temp', 'tok-temp', { expiresInMs: 60_000 }], ['gone', 'tok-gone'], ['rot', 'tok-rot-1']);
    file = revokeToken(file, 'gone', T0);
    file = rotateToken(file, 'rot', sha256Hex('tok-rot-2'), 30_000, T0);
    const registry = createTokenRegistry({ file, now: () => now });
    expect(registry.identify(bearer('tok-temp'))?.name).toBe('temp');
    expect(registry.identify(bearer('tok-gone'))).toBeUndefined();
    expect(registry.identify(bearer('tok-rot-1'))?.name).toBe('rot');
    expect(registry.identify(bearer('tok-rot-2'))?.name).toBe('rot');
    now = T0 + 30_000;
    expect(registry.identify(bearer('tok-rot-1'))).toBeUndefined();
    expect(registry.identify(bearer('tok-rot-2'))?.name).toBe('rot');
    now = T0 + 60_000;
    expect(registry.identify(bearer('tok-temp'))).toBeUndefined();
    expect(registry.activeNames()).toEqual(['rot']);
  });
});

describe('one registry: RELAY_TOKEN is the tokens file\'s "default" entry', () => {
  const withDefault = (token: string) => withDefaultToken(emptyTokensFile(), sha256Hex(token), T0);

  it('takes "default" from the file once it has one: the environment\'s RELAY_TOKEN is then refused', () => {
    const registry = createTokenRegistry({ envToken: 'stale-env-token', file: withDefault('file-token'), now: () => T0 });
    expect(registry.identify(bearer('file-token'))).toEqual({ name: 'default', limits: {} });
    expect(registry.identify(bearer('stale-env-token'))).toBeUndefined();
    // Revoked in the file is revoked: the environment does not bring it back.
    const revoked = createTokenRegistry({ envToken: 'file-token', file: revokeToken(withDefault('file-token'), 'default', T0), now: () => T0 });
    expect(revoked.identify(bearer('file-token'))).toBeUndefined();
  });

  it('rotates "default" like any token: the old value works until the grace ends, then only the new one', () => {
    let now = T0;
    const file = rotateToken(withDefault('first'), 'default', sha256Hex('second'), 30_000, T0);
    const registry = createTokenRegistry({ file, now: () => now });
    expect(registry.identify(bearer('first'))?.name).toBe('default');
    expect(registry.identify(bearer('second'))?.name).toBe('default');
    now = T0 + 30_000;
    expect(registry.identify(bearer('first'))).toBeUndefined();
    expect(registry.identify(bearer('second'))?.name).toBe('default');
  });

  it('adds "default" once: a registry that has one is returned as it is', () => {
    const file = withDefault('first');
    expect(file.tokens).toEqual([{ name: 'default', sha256: sha256Hex('first'), created: '2026-01-01T00:00:00.000Z' }]);
    expect(withDefaultToken(file, sha256Hex('other'), T0 + 1)).toBe(file);
    const migrated = withDefaultToken(emptyTokensFile(), sha256Hex('new'), T0, { sha256: sha256Hex('old'), until: '2026-01-01T00:10:00.000Z' });
    expect(migrated.tokens[0]!.previous).toEqual({ sha256: sha256Hex('old'), until: '2026-01-01T00:10:00.000Z' });
  });
});

describe('reloading the tokens file', () => {
  it('follows the file as it is replaced by rename, and keeps the tokens in use when it turns invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-tokens-'));
    const path = join(dir, 'tokens.json');
    const replace = async (text: string) => {
      await writeFile(`${path}.tmp`, text, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    };
    const logs: string[] = [];
    const registry = createTokenRegistry({ envToken: 'env-token' });
    // A missing file is an empty one: RELAY_TOKEN alone works until `relay token add` writes it.
    const follower = await followTokensFile(path, registry, jsonLogger((line) => logs.push(line)));
    try {
      expect(registry.identify(bearer('tok-a'))).toBeUndefined();
      await replace(renderTokensFile(fileWith(['a', 'tok-a'])));
      await expect.poll(() => registry.identify(bearer('tok-a'))?.name).toBe('a');
      await replace(renderTokensFile(revokeToken(fileWith(['a', 'tok-a']), 'a', Date.now())));
      await expect.poll(() => registry.identify(bearer('tok-a'))).toBeUndefined();
      await replace(renderTokensFile(fileWith(['b', 'tok-b'])));
      await follower.reload();
      expect(registry.identify(bearer('tok-b'))?.name).toBe('b');
      await replace('{ not json');
      await follower.reload();
      expect(registry.identify(bearer('tok-b'))?.name).toBe('b');
      expect(registry.identify(bearer('env-token'))?.name).toBe('default');
      expect(logs.join('')).toContain('could not re-read the tokens file');
      expect(logs.join('')).not.toContain(sha256Hex('tok-b'));
    } finally {
      follower.close();
    }
  });
});
