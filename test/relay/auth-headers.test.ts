import { describe, expect, it } from 'vitest';
import { createTokenRegistry } from '../../src/relay/access/token-registry.js';
import { bearerToken } from '../../src/relay/auth.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/relay/headers.js';
import { addToken, emptyTokensFile, rotateToken, sha256Hex, withDefaultToken, type TokensFile } from '../../src/shared/tokens-file.js';

/** The relay's check for RELAY_TOKEN from the environment or the tokens file's "default", as the server makes it. */
function tokenCheck(tokens: { envToken?: string; file?: TokensFile }, now: () => number = Date.now) {
  const registry = createTokenRegistry({ ...tokens, now });
  return {
    check: (header: string | undefined) => registry.isOpen() || registry.identify(header) !== undefined,
    update: (file: TokensFile) => registry.setFile(file),
  };
}

const withDefault = (token: string) => withDefaultToken(emptyTokensFile(), sha256Hex(token), 0);

describe('reading a bearer token out of Authorization', () => {
  it.each([
    ['Bearer tok-1', 'tok-1'],
    ['bearer \ttok-1 \t', 'tok-1'],
  ])('%j holds %s', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([[undefined], [''], ['Basic Bearer tok-1'], ['Bearer'], ['Bearer tok 1'], ['Bearertok-1']])('%j holds none', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('the relay token check', () => {
  it('accepts exactly the configured bearer token', () => {
    const check = (header: string | undefined) => tokenCheck({ envToken: 's3cret' }).check(header);
    expect(check('Bearer s3cret')).toBe(true);
    expect(check('bearer s3cret')).toBe(true);
    expect(check('Bearer s3cre')).toBe(false);
    expect(check('Bearer s3cretX')).toBe(false);
    expect(check('Basic s3cret')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });

  it('lets everything through when no token is configured', () => {
    expect(tokenCheck({}).check(undefined)).toBe(true);
  });

  it('accepts the previous token only until its grace period ends', () => {
    let now = 1_000;
    const auth = tokenCheck({ file: rotateToken(withDefault('old'), 'default', sha256Hex('new'), 1_000, 1_000) }, () => now);
    expect(auth.check('Bearer new')).toBe(true);
    expect(auth.check('Bearer old')).toBe(true);
    now = 2_000;
    expect(auth.check('Bearer old')).toBe(false);
    expect(auth.check('Bearer new')).toBe(true);
  });

  it('switches tokens at once on update', () => {
    const auth = tokenCheck({ file: withDefault('a') });
    auth.update(withDefault('b'));
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
      { apiKey: 'sk-server', carriesToken: () => false },
    );
    expect(out).toEqual({ 'content-type': 'application/json', authorization: 'Bearer sk-server' });
  });

  it("sends the server's organization and project with the server key, the client's with its own key", () => {
    const credentials = { apiKey: 'sk-server', organization: 'org-server', project: 'proj_server', carriesToken: () => false };
    const client = { 'openai-organization': 'org-client', 'openai-project': 'proj_client' };
    expect(upstreamRequestHeaders(client, credentials)).toEqual({ 'openai-organization': 'org-server', 'openai-project': 'proj_server', authorization: 'Bearer sk-server' });
    expect(upstreamRequestHeaders(client, credentials, 'Bearer sk-client')).toEqual({ ...client, authorization: 'Bearer sk-client' });
  });

  it('drops credential headers and any header holding a relay token', () => {
    const named = 'ab'.repeat(32);
    const registry = createTokenRegistry({ envToken: 'env-token', file: addToken(emptyTokensFile(), { name: 'alice', sha256: sha256Hex(named) }, Date.now()) });
    const out = upstreamRequestHeaders(
      { 'x-api-key': 'anything', cookie: 'a=b', 'x-a': 'xenv-tokenx', 'x-b': `token=${named};`, 'x-c': `${named}0`, 'x-d': 'cd'.repeat(32), accept: 'application/json' },
      { apiKey: 'sk-server', carriesToken: (value) => registry.carriesToken(value) },
    );
    // x-c: a longer hex run could hide a token, x-d: 64 hex digits that are no token.
    expect(out).toEqual({ 'x-d': 'cd'.repeat(32), accept: 'application/json', authorization: 'Bearer sk-server' });
  });

  it('passes response headers except hop-by-hop and cookies, and marks event streams unbuffered', () => {
    const out = clientResponseHeaders({ 'content-type': 'text/event-stream', 'x-request-id': 'req_1', 'transfer-encoding': 'chunked', connection: 'close', 'retry-after': '3', 'set-cookie': ['__cf_bm=1'] });
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'x-request-id': 'req_1', 'retry-after': '3', 'x-accel-buffering': 'no', 'cache-control': 'no-cache' });
  });
});
