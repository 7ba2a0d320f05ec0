// RELAY_TOKEN across deploys, as data: the host's registry (tokens.json) holds its hash as the
// "default" entry; the operator's .env.local holds its value. A host deployed before the one
// registry (RELAY_TOKEN in clear in its .env) is migrated with the same token.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { chooseDefaultToken } from '../../src/operations/default-token.js';
import { emptyTokensFile, sha256Hex, withDefaultToken } from '../../src/shared/tokens-file.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const generate = () => 'g'.repeat(64);
const LEGACY_ENV = 'OPENAI_API_KEY=sk-a\nRELAY_TOKEN=legacy-token\nRELAY_MODELS=gpt-4o-mini\n';

describe('RELAY_TOKEN on a first deploy', () => {
  it('is generated, and only its hash goes to the host, as "default"', () => {
    const choice = chooseDefaultToken({ tokens: emptyTokensFile(), now: NOW, generate });
    expect(choice).toMatchObject({ token: 'g'.repeat(64), origin: 'generated' });
    expect(choice.tokens.tokens).toEqual([{ name: 'default', sha256: sha256Hex('g'.repeat(64)), created: '2026-01-01T00:00:00.000Z' }]);
  });

  it('keeps named tokens already on the host', () => {
    const named = { version: 1 as const, tokens: [{ name: 'ci-bot', sha256: sha256Hex('ci'), created: '2025-01-01T00:00:00.000Z' }] };
    expect(chooseDefaultToken({ tokens: named, now: NOW, generate }).tokens.tokens.map((t) => t.name)).toEqual(['ci-bot', 'default']);
  });
});

describe('RELAY_TOKEN on a re-deploy', () => {
  const onHost = withDefaultToken(emptyTokensFile(), sha256Hex('the-token'), NOW - 1000);

  it('is the one in .env.local when its hash is the host\'s "default": nothing to write', () => {
    const choice = chooseDefaultToken({ tokens: onHost, localToken: 'the-token', now: NOW, generate });
    expect(choice).toMatchObject({ token: 'the-token', origin: 'kept' });
    expect(choice.tokens).toBe(onHost);
  });

  it('is refused before the host changes when .env.local lacks it or holds another', () => {
    for (const localToken of [undefined, 'another-token']) {
      let error: unknown;
      try {
        chooseDefaultToken({ tokens: onHost, now: NOW, generate, ...(localToken ? { localToken } : {}) });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/RELAY_TOKEN/);
      expect((error as ConfigError).fix).toMatch(/relay rotate-token/);
      expect(String((error as ConfigError).message)).not.toContain('another-token');
    }
  });

  it('is replaced with --rotate-token, at once (no grace)', () => {
    const choice = chooseDefaultToken({ tokens: onHost, rotate: true, now: NOW, generate });
    expect(choice.origin).toBe('rotated');
    expect(choice.tokens.tokens).toEqual([{ name: 'default', sha256: sha256Hex('g'.repeat(64)), created: onHost.tokens[0]!.created }]);
  });
});

describe('a host deployed before the one registry (RELAY_TOKEN in clear in its .env)', () => {
  it('keeps the same token: its hash becomes "default", its value is what the operator keeps', () => {
    const choice = chooseDefaultToken({ tokens: emptyTokensFile(), hostEnvText: LEGACY_ENV, now: NOW, generate });
    expect(choice).toMatchObject({ token: 'legacy-token', origin: 'migrated' });
    expect(choice.tokens.tokens).toEqual([{ name: 'default', sha256: sha256Hex('legacy-token'), created: '2026-01-01T00:00:00.000Z' }]);
    // Whatever .env.local held: the host's token is the one clients use.
    expect(chooseDefaultToken({ tokens: emptyTokensFile(), hostEnvText: LEGACY_ENV, localToken: 'stale', now: NOW, generate }).token).toBe('legacy-token');
  });

  it('carries a rotation\'s grace period over; one already over is dropped', () => {
    const inGrace = `${LEGACY_ENV}RELAY_TOKEN_PREVIOUS=older\nRELAY_TOKEN_PREVIOUS_UNTIL=2026-01-01T00:10:00.000Z\n`;
    expect(chooseDefaultToken({ tokens: emptyTokensFile(), hostEnvText: inGrace, now: NOW, generate }).tokens.tokens[0]!.previous).toEqual({
      sha256: sha256Hex('older'),
      until: '2026-01-01T00:10:00.000Z',
    });
    const over = inGrace.replace('2026-01-01T00:10', '2025-01-01T00:10');
    expect(chooseDefaultToken({ tokens: emptyTokensFile(), hostEnvText: over, now: NOW, generate }).tokens.tokens[0]!.previous).toBeUndefined();
  });

  it('is not migrated again once tokens.json has "default": the registry wins over a stale .env line', () => {
    const onHost = withDefaultToken(emptyTokensFile(), sha256Hex('the-token'), NOW);
    expect(chooseDefaultToken({ tokens: onHost, hostEnvText: LEGACY_ENV, localToken: 'the-token', now: NOW, generate })).toMatchObject({ token: 'the-token', origin: 'kept' });
  });
});
