// Relay mode vs passthrough: what goes upstream, who is limited, what is stored.
import { describe, expect, it } from 'vitest';
import { clientAddress, decideAccess, type AccessContext } from '../../src/relay/access/access-mode.js';
import { loadAccessConfig } from '../../src/relay/access/config.js';
import { createTokenRegistry } from '../../src/relay/access/token-registry.js';
import { addToken, emptyTokensFile, sha256Hex } from '../../src/shared/tokens-file.js';

const registry = createTokenRegistry({
  envToken: 'env-token',
  file: addToken(emptyTokensFile(), { name: 'alice', sha256: sha256Hex('tok-alice'), rpm: 5 }, Date.now()),
});
const relay: AccessContext = { mode: 'relay', registry, passthroughLimits: {} };
const passthrough: AccessContext = { mode: 'passthrough', registry, passthroughLimits: { rpm: 30 } };

describe('relay mode', () => {
  it('sends the server key upstream (no client authorization) and limits by token name', () => {
    expect(decideAccess({ headers: { authorization: 'Bearer tok-alice' }, remoteAddress: '127.0.0.1' }, relay)).toEqual({
      ok: true, name: 'alice', upstreamAuthorization: undefined, limiterKey: 'token:alice', limits: { rpm: 5 }, who: 'token alice', storeUsage: true,
    });
    expect(decideAccess({ headers: { authorization: 'Bearer env-token' }, remoteAddress: '127.0.0.1' }, relay)).toMatchObject({ name: 'default', limiterKey: 'token:default' });
    expect(decideAccess({ headers: { authorization: 'Bearer sk-client' }, remoteAddress: '127.0.0.1' }, relay)).toMatchObject({ ok: false, status: 401 });
  });
});

describe('passthrough mode', () => {
  it('forwards the client\'s own key untouched, limits by client address and stores nothing', () => {
    const decision = decideAccess({ headers: { authorization: 'Bearer sk-proj-client' }, remoteAddress: '198.51.100.4' }, passthrough);
    expect(decision).toEqual({ ok: true, name: 'passthrough', upstreamAuthorization: 'Bearer sk-proj-client', limiterKey: 'ip:198.51.100.4', limits: { rpm: 30 }, who: 'this address', storeUsage: false });
    // Nothing derived from the key may reach logs, labels or limiter keys.
    expect(JSON.stringify({ ...decision, upstreamAuthorization: undefined })).not.toContain('sk-proj-client');
    expect(decideAccess({ headers: {}, remoteAddress: '198.51.100.4' }, passthrough)).toMatchObject({ ok: false, status: 401 });
  });

  it('believes nginx\'s X-Real-IP only from a private peer', () => {
    expect(clientAddress('172.17.0.1', { 'x-real-ip': '203.0.113.9' })).toBe('203.0.113.9');
    expect(clientAddress('::ffff:127.0.0.1', { 'x-real-ip': '2001:db8::1' })).toBe('2001:db8::1');
    expect(clientAddress('198.51.100.4', { 'x-real-ip': '203.0.113.9' })).toBe('198.51.100.4');
    expect(clientAddress('127.0.0.1', { 'x-real-ip': 'not an ip' })).toBe('127.0.0.1');
  });
});

describe('access settings from the environment', () => {
  it('defaults to relay mode with nothing else on', () => {
    expect(loadAccessConfig({})).toEqual({ mode: 'relay', tokensFile: undefined, dataDir: undefined, redisUrl: undefined, metricsToken: undefined, passthroughLimits: {} });
  });

  it('reads passthrough, Redis, data dir and limits, and refuses nonsense', () => {
    expect(loadAccessConfig({ RELAY_MODE: 'passthrough', REDIS_URL: 'redis://10.0.0.5:6379/0', RELAY_DATA_DIR: '/var/lib/relay', RELAY_PASSTHROUGH_RPM: '60', RELAY_PASSTHROUGH_CONCURRENCY: '4', RELAY_TOKENS_FILE: '/etc/relay/tokens.json', RELAY_METRICS_TOKEN: 'm' })).toEqual({
      mode: 'passthrough', redisUrl: 'redis://10.0.0.5:6379/0', dataDir: '/var/lib/relay', tokensFile: '/etc/relay/tokens.json', metricsToken: 'm', passthroughLimits: { rpm: 60, concurrency: 4 },
    });
    expect(() => loadAccessConfig({ RELAY_MODE: 'open' })).toThrow(/RELAY_MODE/);
    expect(() => loadAccessConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadAccessConfig({ RELAY_PASSTHROUGH_RPM: '0' })).toThrow(/RELAY_PASSTHROUGH_RPM/);
  });

  it('reads the passthrough limits as digits only', () => {
    for (const rpm of ['1e3', '0x10', '60.0']) expect(() => loadAccessConfig({ RELAY_PASSTHROUGH_RPM: rpm }), rpm).toThrow(/RELAY_PASSTHROUGH_RPM/);
    expect(loadAccessConfig({ RELAY_PASSTHROUGH_CONCURRENCY: ' 4 ' }).passthroughLimits).toEqual({ concurrency: 4 });
  });
});
