// relay token ... and relay usage as data: what is written on the host, what is run there.
import { describe, expect, it } from 'vitest';
import { defaultTokenFingerprint, planTokenAdd, planTokenRevoke, planTokenRotate, tokenListing, usageCommand } from '../../src/operations/tokens.js';
import { emptyTokensFile, parseTokensFile, sha256Hex, withDefaultToken, type TokensFile } from '../../src/shared/tokens-file.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const SECRET = 'a'.repeat(64);

function written(steps: ReturnType<typeof planTokenAdd>['steps']): TokensFile {
  return parseTokensFile(steps[0]!.files![0]!.content.toString());
}

describe('relay token add', () => {
  it('writes only the hash, root-only, then signals the relay instead of restarting it', () => {
    const change = planTokenAdd('/opt/relay', emptyTokensFile(), 'ci-bot', { expiresInMs: 30 * 86_400_000, rpm: 60, concurrency: 2 }, NOW, SECRET);
    const [write, reload] = change.steps;
    expect(write!.files!.map(({ path, mode, owner }) => ({ path, mode, owner }))).toEqual([{ path: '/opt/relay/tokens.json', mode: '0600', owner: 'root:root' }]);
    expect(written(change.steps).tokens).toEqual([{ name: 'ci-bot', sha256: sha256Hex(SECRET), created: '2026-01-01T00:00:00.000Z', expires: '2026-01-31T00:00:00.000Z', rpm: 60, concurrency: 2 }]);
    expect(reload!.apply).toEqual(['docker kill --signal HUP relay >/dev/null']);
    // The token itself goes nowhere near the host.
    expect(JSON.stringify(change.steps)).not.toContain(SECRET);
    expect(change.token).toBe(SECRET);
    expect(change.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('refuses a name in use, reserved or malformed, and generates a fresh token by default', () => {
    const file = written(planTokenAdd('/opt/relay', emptyTokensFile(), 'alice', {}, NOW, SECRET).steps);
    expect(() => planTokenAdd('/opt/relay', file, 'alice', {}, NOW)).toThrow(/exists already/);
    expect(() => planTokenAdd('/opt/relay', file, 'default', {}, NOW)).toThrow(/reserved/);
    expect(() => planTokenAdd('/opt/relay', file, 'Bad Name', {}, NOW)).toThrow(/not a token name/);
    const a = planTokenAdd('/opt/relay', file, 'bob', {}, NOW);
    const b = planTokenAdd('/opt/relay', file, 'bob', {}, NOW);
    expect(a.token).toMatch(/^[0-9a-f]{64}$/);
    expect(a.token).not.toBe(b.token);
  });
});

describe('relay token revoke and rotate', () => {
  const file = written(planTokenAdd('/opt/relay', emptyTokensFile(), 'alice', { rpm: 5 }, NOW, SECRET).steps);

  it('revoke keeps the entry, marked, so list still shows it; the name can be reused', () => {
    const revoked = written(planTokenRevoke('/opt/relay', file, 'alice', NOW + 1000).steps);
    expect(revoked.tokens[0]).toMatchObject({ name: 'alice', revoked: '2026-01-01T00:00:01.000Z' });
    expect(written(planTokenAdd('/opt/relay', revoked, 'alice', {}, NOW, 'b'.repeat(64)).steps).tokens).toHaveLength(1);
    expect(() => planTokenRevoke('/opt/relay', file, 'nobody', NOW)).toThrow(/no token named/);
  });

  it('rotate swaps the hash and keeps the old one for the grace period', () => {
    const rotated = planTokenRotate('/opt/relay', file, 'alice', 600_000, NOW, 'c'.repeat(64));
    expect(written(rotated.steps).tokens[0]).toMatchObject({ sha256: sha256Hex('c'.repeat(64)), rpm: 5, previous: { sha256: sha256Hex(SECRET), until: '2026-01-01T00:10:00.000Z' } });
  });
});

describe('relay token list', () => {
  it('shows state, limits and last use, never a hash', () => {
    let file = written(planTokenAdd('/opt/relay', emptyTokensFile(), 'alice', { rpm: 5, expiresInMs: 1000 }, NOW, SECRET).steps);
    file = written(planTokenAdd('/opt/relay', file, 'bob', {}, NOW, 'b'.repeat(64)).steps);
    const rows = tokenListing(file, { bob: '2026-01-01T00:05:00.000Z' }, NOW + 2000);
    expect(rows).toEqual([
      { name: 'alice', state: 'expired', created: '2026-01-01T00:00:00.000Z', expires: '2026-01-01T00:00:01.000Z', revoked: null, lastUsed: null, rpm: 5, concurrency: null, previousUntil: null },
      { name: 'bob', state: 'active', created: '2026-01-01T00:00:00.000Z', expires: null, revoked: null, lastUsed: '2026-01-01T00:05:00.000Z', rpm: null, concurrency: null, previousUntil: null },
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/[0-9a-f]{64}/);
  });
});

describe('relay token list with RELAY_TOKEN as "default"', () => {
  it('lists it first, from the same registry as the named tokens: created, grace, last use', () => {
    let file = withDefaultToken(emptyTokensFile(), sha256Hex(SECRET), NOW);
    file = written(planTokenAdd('/opt/relay', file, 'bob', {}, NOW, 'b'.repeat(64)).steps);
    file = written(planTokenRotate('/opt/relay', file, 'default', 600_000, NOW, 'd'.repeat(64)).steps);
    // Entries written before "default" existed come first in the file; default is listed first anyway.
    file = { version: 1, tokens: [...file.tokens].reverse() };
    const rows = tokenListing(file, { default: '2026-01-01T00:06:00.000Z' }, NOW);
    expect(rows.map((row) => row.name)).toEqual(['default', 'bob']);
    expect(rows[0]).toEqual({
      name: 'default', state: 'active', created: '2026-01-01T00:00:00.000Z', expires: null, revoked: null, lastUsed: '2026-01-01T00:06:00.000Z', rpm: null, concurrency: null,
      previousUntil: '2026-01-01T00:10:00.000Z',
    });
    expect(tokenListing(file, {}, NOW + 600_000)[0]!.previousUntil).toBeNull();
  });
});

describe('relay token rotate default', () => {
  it('rotates RELAY_TOKEN in tokens.json like any token: a new hash, the old one for the grace', () => {
    const file = withDefaultToken(emptyTokensFile(), sha256Hex(SECRET), NOW);
    const change = planTokenRotate('/opt/relay', file, 'default', 600_000, NOW, 'c'.repeat(64));
    expect(change.steps[0]!.files!.map((f) => f.path)).toEqual(['/opt/relay/tokens.json']);
    expect(written(change.steps).tokens).toEqual([
      { name: 'default', sha256: sha256Hex('c'.repeat(64)), created: '2026-01-01T00:00:00.000Z', previous: { sha256: sha256Hex(SECRET), until: '2026-01-01T00:10:00.000Z' } },
    ]);
    expect(JSON.stringify(change.steps)).not.toContain('c'.repeat(64));
  });
});

describe('relay status: the token fingerprint', () => {
  it('is the start of the "default" hash in tokens.json; none without a "default"', () => {
    expect(defaultTokenFingerprint(withDefaultToken(emptyTokensFile(), sha256Hex(SECRET), NOW))).toBe(`sha256:${sha256Hex(SECRET).slice(0, 16)}`);
    expect(defaultTokenFingerprint(emptyTokensFile())).toBeUndefined();
  });
});

describe('relay usage', () => {
  it('asks the relay bundle in its container, with --since quoted', () => {
    expect(usageCommand('24h')).toBe('docker exec relay node /app/relay-server.mjs usage --since 24h --json');
    expect(usageCommand('1h; rm -rf /')).toBe("docker exec relay node /app/relay-server.mjs usage --since '1h; rm -rf /' --json");
  });
});
