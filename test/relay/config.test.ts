import { describe, expect, it } from 'vitest';
import { loadRelayConfig } from '../../src/relay/config.js';
import { parseUpstream } from '../../src/shared/upstream-url.js';
import { ConfigError } from '../../src/shared/errors.js';

describe('OPENAI_BASE_URL', () => {
  it.each([
    ['https://api.openai.com', 'https://api.openai.com', ''],
    ['https://api.openai.com/', 'https://api.openai.com', ''],
    ['https://api.openai.com/v1', 'https://api.openai.com', ''],
    ['https://api.openai.com/v1/', 'https://api.openai.com', ''],
    ['http://10.0.0.5:8080/openai/v1', 'http://10.0.0.5:8080', '/openai'],
    ['https://gateway.example/proxy/', 'https://gateway.example', '/proxy'],
  ])('%s -> %s + %s', (input, origin, basePath) => {
    expect(parseUpstream(input)).toEqual({ origin, basePath });
  });

  it.each(['not a url', 'ftp://x', 'https://u:p@api.openai.com', 'https://api.openai.com/v1?x=1'])('refuses %s', (input) => {
    expect(() => parseUpstream(input)).toThrow(ConfigError);
  });
});

describe('environment', () => {
  it('uses the documented defaults', () => {
    const config = loadRelayConfig({ OPENAI_API_KEY: 'sk-x' });
    expect(config).toMatchObject({ port: 3001, token: undefined, upstream: { origin: 'https://api.openai.com', basePath: '' } });
    // No hidden 300 s cap: a non-streamed answer may take up to 15 minutes by default.
    expect(config.timeouts.firstByteMs).toBe(15 * 60_000);
  });

  it('prefers RELAY_TOKEN over OPENAI_RELAY_TOKEN', () => {
    expect(loadRelayConfig({ OPENAI_API_KEY: 'k', RELAY_TOKEN: 'a', OPENAI_RELAY_TOKEN: 'b' }).token).toBe('a');
    expect(loadRelayConfig({ OPENAI_API_KEY: 'k', OPENAI_RELAY_TOKEN: 'b' }).token).toBe('b');
  });

  it('rejects a bad PORT and a bad timeout with the variable named', () => {
    expect(() => loadRelayConfig({ OPENAI_API_KEY: 'k', PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadRelayConfig({ OPENAI_API_KEY: 'k', RELAY_IDLE_TIMEOUT: 'soon' })).toThrow(/RELAY_IDLE_TIMEOUT/);
  });

  it('reads PORT as digits only, like every whole number relay takes', () => {
    for (const port of ['1e3', '0x50', '-0', '8080.0', '+80']) expect(() => loadRelayConfig({ OPENAI_API_KEY: 'k', PORT: port }), port).toThrow(/PORT/);
    expect(loadRelayConfig({ OPENAI_API_KEY: 'k', PORT: ' 8080 ' }).port).toBe(8080);
  });
});
