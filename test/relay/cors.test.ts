// CORS as pure functions: which origins RELAY_CORS_ORIGINS allows, what a preflight is, and the
// exact headers a preflight and an actual answer carry.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { corsResponseHeaders, isAllowedOrigin, isPreflight, parseCorsOrigins, preflightHeaders } from '../../src/relay/cors.js';

const EXPOSED =
  'x-request-id, openai-processing-ms, openai-version, openai-organization, openai-project, x-ratelimit-limit-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens, x-ratelimit-reset-requests, x-ratelimit-reset-tokens, retry-after, retry-after-ms';
const ALWAYS_ALLOWED = 'authorization, content-type, accept, idempotency-key, openai-organization, openai-project, openai-beta';

describe('RELAY_CORS_ORIGINS: off unless it names origins', () => {
  it.each([undefined, '', ' , ,'])('%j turns CORS off', (text) => {
    expect(parseCorsOrigins(text)).toBeUndefined();
  });

  it('reads origins, trimmed and without trailing slashes', () => {
    expect(parseCorsOrigins(' https://app.example.com/ ,http://localhost:5173//')).toEqual({
      anyOrigin: false,
      origins: new Set(['https://app.example.com', 'http://localhost:5173']),
    });
  });

  it('allows any origin when one entry is *', () => {
    expect(parseCorsOrigins('https://app.example.com, *')).toEqual({ anyOrigin: true, origins: new Set() });
  });

  it.each(['app.example.com', 'https://app.example.com/path', 'HTTPS://App.example.com', 'https://app.example.com:443'])('refuses %s, which is not an origin, with a fix', (entry) => {
    let error: unknown;
    try {
      parseCorsOrigins(`https://ok.example.com,${entry}`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`RELAY_CORS_ORIGINS: "${entry}" is not an origin.`);
    expect((error as ConfigError).fix).toBe('List origins as scheme://host[:port], comma-separated, e.g. https://app.example.com,http://localhost:5173 (or * for any).');
  });
});

describe('allowed origins: exactly the listed ones, or any with *', () => {
  const policy = parseCorsOrigins('https://app.example.com')!;

  it('allows a listed origin and no other', () => {
    expect(isAllowedOrigin(policy, 'https://app.example.com')).toBe(true);
    expect(isAllowedOrigin(policy, 'https://evil.example.com')).toBe(false);
    expect(isAllowedOrigin(policy, 'http://app.example.com')).toBe(false);
  });

  it('allows every origin with *', () => {
    expect(isAllowedOrigin(parseCorsOrigins('*')!, 'https://anything.example')).toBe(true);
  });
});

describe('preflight: OPTIONS with an Origin and a requested method', () => {
  const request = (method: string, headers: Record<string, string>) => ({ method, headers }) as unknown as IncomingMessage;

  it('is a preflight only with all three', () => {
    expect(isPreflight(request('OPTIONS', { origin: 'https://a.example', 'access-control-request-method': 'POST' }))).toBe(true);
    expect(isPreflight(request('POST', { origin: 'https://a.example', 'access-control-request-method': 'POST' }))).toBe(false);
    expect(isPreflight(request('OPTIONS', { 'access-control-request-method': 'POST' }))).toBe(false);
    expect(isPreflight(request('OPTIONS', { origin: 'https://a.example' }))).toBe(false);
  });

  it('answers a listed origin with the SDK headers, the requested ones, and a 2 h cache', () => {
    expect(preflightHeaders(parseCorsOrigins('https://a.example')!, 'https://a.example', 'X-Stainless-Lang, user-agent,,content-type')).toEqual({
      'access-control-allow-origin': 'https://a.example',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': `${ALWAYS_ALLOWED}, x-stainless-lang, user-agent`,
      'access-control-max-age': '7200',
      vary: 'Origin, Access-Control-Request-Headers',
    });
  });

  it('answers * to any origin, with only the SDK headers when none are requested', () => {
    expect(preflightHeaders(parseCorsOrigins('*')!, 'https://b.example', undefined)).toEqual({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': ALWAYS_ALLOWED,
      'access-control-max-age': '7200',
      vary: 'Origin, Access-Control-Request-Headers',
    });
  });

  it('allows the relay token headers but no other credential header, and no malformed name', () => {
    const allowed = preflightHeaders(parseCorsOrigins('*')!, 'https://b.example', 'x-api-key, api-key, proxy-authorization, x-goog-api-key, bad header, bad:name, x-ok')['access-control-allow-headers'];
    expect(allowed).toBe(`${ALWAYS_ALLOWED}, x-api-key, x-ok`);
  });
});

describe('actual answers: the origin, the exposed headers, and Vary when it depends on the origin', () => {
  it('names a listed origin and varies by Origin', () => {
    expect(corsResponseHeaders(parseCorsOrigins('https://a.example')!, 'https://a.example')).toEqual({
      'access-control-allow-origin': 'https://a.example',
      'access-control-expose-headers': EXPOSED,
      vary: 'Origin',
    });
  });

  it('answers * without Vary for any origin', () => {
    expect(corsResponseHeaders(parseCorsOrigins('*')!, 'https://b.example')).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': EXPOSED,
    });
  });
});
