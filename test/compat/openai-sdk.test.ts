// The openai SDK against a relay that shares its domain (RELAY_PATH_PREFIX), serves a browser app
// (RELAY_CORS_ORIGINS) and limits models (RELAY_MODELS), as in the README's compatibility table.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../support/fake-openai.js';
import { eventually } from '../support/relay-process.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

const APP = 'https://app.example';
let stack: RelayStack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startRelayStack(
    { RELAY_PATH_PREFIX: '/openai', RELAY_CORS_ORIGINS: `${APP}, http://localhost:5173`, RELAY_MODELS: `gpt-fake,fast=gpt-fake,${MODELS.paced}` },
    { models: ['gpt-fake', 'gpt-other', MODELS.paced] },
  );
  client = new OpenAI({ apiKey: stack.token, baseURL: `${stack.relay.url}/openai/v1`, maxRetries: 0 });
});

afterAll(() => stack?.stop());

describe('RELAY_PATH_PREFIX', () => {
  it('serves the API under the prefix and forwards it upstream as /v1/...', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBe('Hello from the fake upstream.');
    expect(stack.upstream.seen.at(-1)?.url).toBe('/v1/chat/completions');
  });

  it('answers 404 at /v1/ without the prefix, and keeps /health at the root', async () => {
    const bare = await fetch(`${stack.relay.url}/v1/models`, { headers: { authorization: `Bearer ${stack.token}` } });
    expect(bare.status).toBe(404);
    expect(((await bare.json()) as { error: { message: string } }).error.message).toContain('/openai/v1/');
    for (const path of ['/openai', '/openaiv1/models', '/openai/../v1/models']) {
      expect((await fetch(`${stack.relay.url}${path}`, { headers: { authorization: `Bearer ${stack.token}` } })).status, path).toBe(404);
    }
    expect((await fetch(`${stack.relay.url}/health`)).status).toBe(200);
  });
});

describe('RELAY_MODELS', () => {
  it('lists only allowed models, aliases as models of their own', async () => {
    const { data } = await client.models.list();
    expect(data.map((model) => model.id)).toEqual(['gpt-fake', 'fast', MODELS.paced]);
    expect((await client.models.retrieve('fast')).id).toBe('fast');
    await expect(client.models.retrieve('gpt-other')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers a model name that is not valid percent-encoding with 404 model_not_found, not a relay failure', async () => {
    const before = stack.upstream.seen.length;
    const answer = await fetch(`${stack.relay.url}/openai/v1/models/gpt-fake%E0%A4%A`, { headers: { authorization: `Bearer ${stack.token}` } });
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ error: { code: 'model_not_found', type: 'invalid_request_error' } });
    expect(stack.upstream.seen.length).toBe(before);
  });

  it('rewrites an alias to its model before forwarding', async () => {
    const answer = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.model).toBe('gpt-fake');
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('refuses other models with 403 model_not_found in the OpenAI shape, without calling the upstream', async () => {
    const before = stack.upstream.seen.length;
    const error = await client.chat.completions.create({ model: 'gpt-other', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: 'model_not_found', type: 'invalid_request_error' });
    expect(String((error as Error).message)).toContain('gpt-other');
    expect(stack.upstream.seen.length).toBe(before);
  });

  it('still streams chunk by chunk once the body is checked', async () => {
    const stream = await client.chat.completions.create({ model: MODELS.paced, stream: true, messages: [{ role: 'user', content: 'count' }] });
    const parts: string[] = [];
    for await (const event of stream) if (event.choices[0]?.delta.content) parts.push(event.choices[0].delta.content);
    expect(parts).toHaveLength(5);
  });

  it('refuses a body that is not JSON, and one over 10 MB', async () => {
    const post = (body: string) =>
      fetch(`${stack.relay.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' }, body });
    const broken = await post('{"model": ');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const huge = await post(JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x'.repeat(11 * 1024 * 1024) }] }));
    expect(huge.status).toBe(413);
  });
});

describe('CORS for browser apps', () => {
  // What a browser sends before the SDK's first call (dangerouslyAllowBrowser).
  const preflight = (origin: string) =>
    fetch(`${stack.relay.url}/openai/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-retry-count,openai-beta',
      },
    });

  it('answers a preflight from an allowed origin without a token', async () => {
    const before = stack.upstream.seen.length;
    const response = await preflight(APP);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-stainless-arch', 'x-stainless-retry-count', 'openai-beta']));
    expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(stack.upstream.seen.length).toBe(before);
  });

  it('allows the headers the preflight asks for, as Firefox asks for user-agent (Vercel ai, ollama/browser)', async () => {
    const response = await fetch(`${stack.relay.url}/openai/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,user-agent,x-app-trace' },
    });
    expect(response.status).toBe(204);
    const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'user-agent', 'x-app-trace']));
  });

  it('never allows headers that carry other credentials (cookies, proxy and Azure API-key headers)', async () => {
    const response = await fetch(`${stack.relay.url}/openai/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,cookie,proxy-authorization,api-key,x-api-key,x-goog-api-key' },
    });
    expect(response.status).toBe(204);
    const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
    expect(allowed).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(cookie|proxy-authorization|api-key|x-goog-api-key)$/)]));
    // The headers that carry the relay token: OpenAI clients' bearer, Anthropic clients' x-api-key.
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'x-api-key']));
  });

  it('echoes only well-formed header names', async () => {
    const response = await fetch(`${stack.relay.url}/openai/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-fine, bad name, x-a:b, x-ok' },
    });
    const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['x-fine', 'x-ok']));
    expect(allowed.filter((name) => !/^[a-z0-9-]+$/.test(name))).toEqual([]);
  });

  it('lets the page read answers and their rate-limit headers', async () => {
    const browser = new OpenAI({
      apiKey: stack.token,
      baseURL: `${stack.relay.url}/openai/v1`,
      maxRetries: 0,
      dangerouslyAllowBrowser: true,
      fetch: (url, init) => fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), origin: APP } }),
    });
    const { response } = await browser.models.list().withResponse();
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    const exposed = response.headers.get('access-control-expose-headers')!;
    for (const name of ['x-request-id', 'openai-processing-ms', 'x-ratelimit-remaining-requests', 'retry-after']) expect(exposed).toContain(name);
    expect(response.headers.get('vary')).toContain('Origin');
    // Errors too, or the page could not tell a bad token from a network failure.
    const denied = await fetch(`${stack.relay.url}/openai/v1/models`, { headers: { origin: APP } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('gives other origins no CORS headers at all', async () => {
    const response = await preflight('https://evil.example');
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const actual = await fetch(`${stack.relay.url}/openai/v1/models`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${stack.token}` } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBeNull();
    expect(actual.headers.get('access-control-expose-headers')).toBeNull();
  });
});

describe('defaults: every feature off', () => {
  it('forwards a body it cannot parse untouched, serves /v1/ at the root, and sends no CORS headers', async () => {
    const plain = await startRelayStack();
    try {
      const response = await fetch(`${plain.relay.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${plain.token}`, 'content-type': 'application/json', origin: APP },
        body: '{"model": ',
      });
      // The fake upstream, not the relay, found the JSON broken: the relay did not read the body.
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('fake');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await fetch(`${plain.relay.url}/v1/models`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } });
      expect(preflight.status).toBe(401);
    } finally {
      await plain.stop();
    }
  });
});

describe('logs', () => {
  it('logs the prefixed path and never the key or the token', async () => {
    await eventually(() => stack.relay.logLines().some((line) => line.path === '/openai/v1/chat/completions'));
    expect(stack.relay.output()).not.toContain(stack.key);
    expect(stack.relay.output()).not.toContain(stack.token);
  });
});
