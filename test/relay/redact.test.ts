// What a RELAY_DUMP line may never show, on its own (the fast lane): the relay's secrets by value,
// and credentials known by their name or their shape. dump.test.ts checks the same through a real relay.
import { describe, expect, it } from 'vitest';
import { loadRelayConfig } from '../../src/relay/config.js';
import { relaySecrets } from '../../src/relay/dump.js';
import { createRedactor } from '../../src/relay/redact.js';

describe('the redactor', () => {
  const KNOWN = 'relay-token-value';
  const redactor = createRedactor(() => [KNOWN, 'p@ss"word', undefined, 'abc']);

  it('replaces known values, as written, URL-encoded or JSON-escaped', () => {
    expect(redactor.text(`a ${KNOWN} b`)).toBe('a [redacted] b');
    expect(redactor.text('x=p%40ss%22word')).toBe('x=[redacted]');
    expect(redactor.text(JSON.stringify({ v: 'p@ss"word' }))).toBe('{"v":"[redacted]"}');
    // Too short to be replaced everywhere.
    expect(redactor.text('abc')).toBe('abc');
  });

  it('replaces what looks like a credential: Bearer values, sk- keys, 64-hex tokens, URL passwords', () => {
    expect(redactor.text('send Bearer abc.def-123 now')).toBe('send Bearer [redacted] now');
    expect(redactor.text('key sk-proj-abcdefghijklmnop0123 end')).toBe('key [redacted] end');
    expect(redactor.text(`t=${'a1'.repeat(32)};`)).toBe('t=[redacted];');
    expect(redactor.text('via http://user:secret@proxy:3128/')).toBe('via http://***@proxy:3128/');
    // Ordinary text stays: ids, short hex, words.
    expect(redactor.text('chatcmpl-abc req_123 deadbeef sk-short max_tokens=5')).toBe('chatcmpl-abc req_123 deadbeef sk-short max_tokens=5');
  });

  it('blanks fields, headers and parameters named for a credential, keeping an Authorization scheme', () => {
    expect(
      redactor.value({
        authorization: 'Bearer anything',
        'Proxy-Authorization': 'Basic dTpw',
        cookie: ['a=1', 'b=2'],
        'set-cookie': 'x=1',
        api_key: 'plain',
        nested: [{ client_secret: { deep: 1 }, password: 'p', max_tokens: 5, token: 'Hello', prompt_tokens: 3 }],
      }),
    ).toEqual({
      authorization: 'Bearer [redacted]',
      'Proxy-Authorization': 'Basic [redacted]',
      cookie: ['[redacted]', '[redacted]'],
      'set-cookie': '[redacted]',
      api_key: '[redacted]',
      nested: [{ client_secret: '[redacted]', password: '[redacted]', max_tokens: 5, token: 'Hello', prompt_tokens: 3 }],
    });
    expect(redactor.text('/v1/x?api-key=v1&access_token=v2&keep=v3')).toBe('/v1/x?api-key=[redacted]&access_token=[redacted]&keep=v3');
    // JSON text that did not parse (cut at the cap), the closing quote cut off too.
    expect(redactor.text('{"model":"m","api_key":"open')).toBe('{"model":"m","api_key":"[redacted]');
    expect(redactor.value({ [`k-${KNOWN}`]: 1 })).toEqual({ 'k-[redacted]': 1 });
  });

  it('reads the secrets again on each call (tokens reload)', () => {
    let secrets = ['first-secret'];
    const live = createRedactor(() => secrets);
    expect(live.text('first-secret second-secret')).toBe('[redacted] second-secret');
    secrets = ['second-secret'];
    expect(live.text('first-secret second-secret')).toBe('first-secret [redacted]');
  });
});

describe('credentials known by their name', () => {
  const redactor = createRedactor(() => []);

  it('blanks any header or field named for a credential, whatever its case and with _ for -', () => {
    const named = ['X_API_KEY', 'apikey', 'Ocp-Apim-Subscription-Key', 'x-auth-token', 'X-Access-Token', 'refresh_token', 'id_token', 'session-token'];
    named.push('private_key', 'passwd', 'my-secret', 'cookie2', 'Set-Cookie2');
    const blanked = redactor.value(Object.fromEntries(named.map((name) => [name, 'v']))) as Record<string, unknown>;
    expect(Object.entries(blanked).filter(([, value]) => value !== '[redacted]')).toEqual([]);
    expect(Object.keys(blanked)).toEqual(named);
  });

  it('keeps names that only contain such a word, and bare token fields', () => {
    const kept = { secretary: 'v', tokens: 'v', token: 'v', keyboard: 'v', cookies_enabled: 'v', total_tokens: 'v' };
    expect(redactor.value(kept)).toEqual(kept);
  });

  it('blanks the whole value of such a field: every item of a list, an object, a number', () => {
    expect(redactor.value({ api_key: ['Bearer a', 'b', 7], secret: { nested: 'x' }, password: 1234, authorization: 'Basic' })).toEqual({
      api_key: ['Bearer [redacted]', '[redacted]', '[redacted]'],
      secret: '[redacted]',
      password: '[redacted]',
      authorization: '[redacted]',
    });
    // A scheme is the value's first word, however many spaces follow it; anything else is blanked whole.
    expect(redactor.value({ authorization: 'Bearer   many-spaces', 'x-api-key': '-v not a scheme' })).toEqual({
      authorization: 'Bearer [redacted]',
      'x-api-key': '[redacted]',
    });
  });

  it('finds them in JSON text and in parameters, and keeps the rest of the text as it was', () => {
    expect(redactor.text('{"password" : "p\\"q", "model": "m"}')).toBe('{"password" : "[redacted]", "model": "m"}');
    expect(redactor.text('{"note":"x","secret":"')).toBe('{"note":"x","secret":"[redacted]');
    expect(redactor.text('a=1; password=two, refresh_token=3 session=4')).toBe('a=1; password=[redacted], refresh_token=[redacted] session=4');
    expect(redactor.text('password=')).toBe('password=[redacted]');
  });
});

describe('credentials known by their shape', () => {
  const redactor = createRedactor(() => []);

  it('finds each shape alone in a string', () => {
    expect(redactor.text('bearer lower-case')).toBe('bearer [redacted]');
    expect(redactor.text('BEARER\tupper')).toBe('BEARER\t[redacted]');
    expect(redactor.text('Bearer a,b')).toBe('Bearer [redacted],b');
    expect(redactor.text('sk-0123456789abcdefXYZ')).toBe('[redacted]');
    expect(redactor.text('F'.repeat(70))).toBe('[redacted]');
    expect(redactor.text('redis://:pw@10.0.0.5')).toBe('redis://***@10.0.0.5');
  });

  it('finds them in the strings of a parsed body, however deep', () => {
    expect(redactor.value({ messages: [{ content: ['use Bearer abc', 'key sk-0123456789abcdefXYZ'] }] })).toEqual({
      messages: [{ content: ['use Bearer [redacted]', 'key [redacted]'] }],
    });
  });

  it('leaves values, numbers and nulls of a parsed body alone when they have no such shape', () => {
    const body = { id: 'chatcmpl-1', n: 2, ok: true, none: null, list: [1, 'two', [3]], deep: { role: 'user' } };
    expect(redactor.value(body)).toEqual(body);
    expect(redactor.text('Hello, world: 42.')).toBe('Hello, world: 42.');
    expect(redactor.text('undefined')).toBe('undefined');
  });
});

describe('the relay\'s own secrets', () => {
  it('are the key, the metrics token, the Ollama secret, proxy and Redis credentials, and the plain tokens of the moment', () => {
    const config = loadRelayConfig({
      OPENAI_API_KEY: 'sk-relay-key',
      RELAY_METRICS_TOKEN: 'metrics-token',
      RELAY_OLLAMA_PATH: '/ollama/0123456789abcdef0123',
      HTTPS_PROXY: 'http://us%40er:p%3Ass@127.0.0.1:3128',
      REDIS_URL: 'redis://default:redis%2Fpass@127.0.0.1:6379/0',
    });
    let tokens = ['first-token'];
    const secrets = relaySecrets(config, () => tokens);
    expect(secrets()).toEqual([
      'sk-relay-key',
      'metrics-token',
      '0123456789abcdef0123',
      ...['us%40er', 'p%3Ass', 'us@er', 'p:ss', 'us@er:p:ss'],
      ...['default', 'redis%2Fpass', 'default', 'redis/pass', 'default:redis/pass'],
      'first-token',
    ]);
    tokens = ['second-token'];
    expect(secrets().at(-1)).toBe('second-token');
  });

  it('are only the key when nothing else is set; a URL without a user or password adds none', () => {
    expect(relaySecrets(loadRelayConfig({ OPENAI_API_KEY: 'sk-k' }), () => [])()).toEqual(['sk-k', undefined, undefined]);
    const proxied = loadRelayConfig({ OPENAI_API_KEY: 'sk-k', HTTPS_PROXY: 'http://127.0.0.1:3128', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(relaySecrets(proxied, () => [])()).toEqual(['sk-k', undefined, undefined]);
  });

  it('redact values of every length from 4 characters, longest first, special characters taken literally', () => {
    const redactor = createRedactor(() => ['abcd', 'abcdefgh', 'a.b*c', 'abc']);
    expect(redactor.text('abcdefgh abcd abc a.b*c aXbbc')).toBe('[redacted] [redacted] abc [redacted] aXbbc');
    expect(createRedactor(() => [undefined]).text('abcd')).toBe('abcd');
    const partial = loadRelayConfig({ OPENAI_API_KEY: 'sk-k', HTTPS_PROXY: 'http://only-user@127.0.0.1:3128', REDIS_URL: 'redis://:only-password@127.0.0.1:6379' });
    expect(relaySecrets(partial, () => [])()).toEqual([
      'sk-k',
      undefined,
      undefined,
      ...['only-user', '', 'only-user', '', 'only-user:'],
      ...['', 'only-password', '', 'only-password', ':only-password'],
    ]);
  });
});
