import { describe, expect, it } from 'vitest';
import { createTokenRegistry } from '../../src/relay/access/token-registry.js';
import { bearerToken, type TokenSet } from '../../src/relay/auth.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/relay/headers.js';

/** The relay's check for RELAY_TOKEN (and a rotation's previous token), as the server makes it. */
function tokenCheck(tokens: TokenSet, now: () => number = Date.now) {
  const registry = createTokenRegistry({ envTokens: tokens, now });
  return {
    check: (header: string | undefined) => registry.isOpen() || registry.identify(header) !== undefined,
    update: (next: TokenSet) => registry.setEnvTokens(next),
  };
}

describe('the relay token check', () => {
  it('accepts exactly the configured bearer token', () => {
    const check = (header: string | undefined) => tokenCheck({ current: 's3cret' }).check(header);
    expect(check('Bearer s3cret')).toBe(true);
    expect(check('bearer s3cret')).toBe(true);
    expect(check('Bearer s3cre')).toBe(false);
    expect(check('Bearer s3cretX')).toBe(false);
    expect(check('Basic s3cret')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });

  it('lets everything through when no token is configured', () => {
    expect(tokenCheck({ current: undefined }).check(undefined)).toBe(true);
  });

  it('accepts the previous token only until its grace period ends', () => {
    let now = 1_000;
    const auth = tokenCheck({ current: 'new', previous: { token: 'old', until: 2_000 } }, () => now);
    expect(auth.check('Bearer new')).toBe(true);
    expect(auth.check('Bearer old')).toBe(true);
    now = 2_000;
    expect(auth.check('Bearer old')).toBe(false);
    expect(auth.check('Bearer new')).toBe(true);
  });

  it('switches tokens at once on update', () => {
    const auth = tokenCheck({ current: 'a' });
    auth.update({ current: 'b' });
    expect(auth.check('Bearer a')).toBe(false);
    expect(auth.check('Bearer b')).toBe(true);
  });
});

describe('headers crossing the relay', () => {
  it('replaces authorization and drops hop-by-hop, host and client-address headers upstream', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'relay.example.com',
        authorization: 'Bearer relay-token',
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'x-forwarded-for': '198.51.100.1',
        'x-real-ip': '198.51.100.1',
        'content-type': 'application/json',
        'openai-organization': 'org-1',
      },
      'sk-server',
    );
    expect(out).toEqual({ 'content-type': 'application/json', 'openai-organization': 'org-1', authorization: 'Bearer sk-server' });
  });

  it('passes response headers except hop-by-hop, and marks event streams unbuffered', () => {
    const out = clientResponseHeaders({ 'content-type': 'text/event-stream', 'x-request-id': 'req_1', 'transfer-encoding': 'chunked', connection: 'close', 'retry-after': '3' });
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'x-request-id': 'req_1', 'retry-after': '3', 'x-accel-buffering': 'no', 'cache-control': 'no-cache' });
  });
});
