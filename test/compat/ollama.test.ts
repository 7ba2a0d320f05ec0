// Tools that speak only Ollama (Copilot's Ollama provider, Open WebUI) against the relay's Ollama
// emulation, driven with the official `ollama` npm client. The secret path is the credential.
import { randomBytes } from 'node:crypto';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS, msUntilUpstreamCut } from '../support/fake-openai.js';
import { rawRequest, statusOf } from '../support/raw-http.js';
import { eventually } from '../support/relay-process.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

const SECRET = `/ollama-${randomBytes(16).toString('hex')}`;
let stack: RelayStack;
let ollama: Ollama;

beforeAll(async () => {
  stack = await startRelayStack(
    { RELAY_OLLAMA_PATH: SECRET, RELAY_MODELS: `gpt-fake,fast=gpt-fake,${MODELS.paced},${MODELS.toolCall},${MODELS.rateLimited},${MODELS.endless},${MODELS.brokenStream}` },
    { models: ['gpt-fake', 'gpt-other', MODELS.paced, MODELS.toolCall] },
  );
  ollama = new Ollama({ host: `${stack.relay.url}${SECRET}` });
});

afterAll(() => stack?.stop());

describe('Ollama API emulation', () => {
  it('reports a version and that it is running', async () => {
    expect(await ollama.version()).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(await (await fetch(`${stack.relay.url}${SECRET}`)).text()).toBe('Ollama is running');
  });

  it('lists the upstream models (filtered by RELAY_MODELS) as tags', async () => {
    const { models } = await ollama.list();
    expect(models.map((model) => model.name)).toEqual(['gpt-fake', 'fast', MODELS.paced, MODELS.toolCall]);
    expect(models[0]).toMatchObject({ model: 'gpt-fake', size: 0, digest: expect.stringMatching(/^[0-9a-f]{64}$/), details: { family: 'openai' } });
    expect(stack.upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${stack.key}`);
  });

  it('shows a model with the capabilities tool pickers look for', async () => {
    const shown = await ollama.show({ model: 'gpt-fake:latest' });
    expect(shown.capabilities).toEqual(expect.arrayContaining(['completion', 'tools']));
    expect(shown.model_info).toMatchObject({ 'general.architecture': 'openai', 'openai.context_length': expect.any(Number) });
    await expect(ollama.show({ model: 'gpt-other' })).rejects.toMatchObject({ status_code: 404, error: expect.stringContaining('gpt-other') });
  });

  it('chats without streaming', async () => {
    const answer = await ollama.chat({ model: 'fast', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], options: { temperature: 0.2, num_predict: 50 } });
    expect(answer).toMatchObject({ model: 'fast', message: { role: 'assistant', content: 'Hello from the fake upstream.' }, done: true, done_reason: 'stop', prompt_eval_count: 11, eval_count: 7 });
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({
      model: 'gpt-fake',
      stream: false,
      temperature: 0.2,
      max_completion_tokens: 50,
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
    });
  });

  it('streams chat as NDJSON, one line per upstream chunk, as it arrives', async () => {
    const stream = await ollama.chat({ model: MODELS.paced, messages: [{ role: 'user', content: 'count' }], stream: true });
    const parts: string[] = [];
    const arrivals: number[] = [];
    let last: { done: boolean; done_reason?: string } | undefined;
    for await (const part of stream) {
      if (part.message.content) {
        parts.push(part.message.content);
        arrivals.push(Date.now());
      }
      last = part;
    }
    expect(parts).toEqual(['part0 ', 'part1 ', 'part2 ', 'part3 ', 'part4 ']);
    expect(last).toMatchObject({ done: true, done_reason: 'stop' });
    // Paced 200 ms apart upstream: not buffered into one burst.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(500);
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('passes images and tool calls in both directions', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    for (const stream of [false, true] as const) {
      const messages = [{ role: 'user', content: 'what is this?', images: [png] }];
      const reply = stream
        ? await (async () => {
            const calls = [];
            for await (const part of await ollama.chat({ model: MODELS.toolCall, messages, tools, stream: true })) calls.push(...(part.message.tool_calls ?? []));
            return calls;
          })()
        : (await ollama.chat({ model: MODELS.toolCall, messages, tools })).message.tool_calls;
      expect(reply, `stream: ${stream}`).toEqual([{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }]);
    }
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({
      tools,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    });

    await ollama.chat({
      model: 'gpt-fake',
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
        { role: 'tool', content: 'sunny', tool_name: 'get_weather' },
      ],
    });
    const sent = stack.upstream.chatBodies.at(-1)!.messages as Array<Record<string, unknown>>;
    expect(sent[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] });
    expect(sent[2]).toEqual({ role: 'tool', content: 'sunny', tool_call_id: 'call_0' });
  });

  it('generates, streamed and not', async () => {
    const whole = await ollama.generate({ model: 'gpt-fake', system: 'terse', prompt: 'say hello' });
    expect(whole).toMatchObject({ model: 'gpt-fake', response: 'Hello from the fake upstream.', done: true });
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({ messages: [{ role: 'system', content: 'terse' }, { role: 'user', content: 'say hello' }] });

    let text = '';
    for await (const part of await ollama.generate({ model: MODELS.paced, prompt: 'count', stream: true })) text += part.response;
    expect(text).toBe('part0 part1 part2 part3 part4 ');
  });

  it('answers errors in Ollama shape: unknown model, upstream errors', async () => {
    await expect(ollama.chat({ model: 'gpt-other', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status_code: 404, error: expect.stringContaining('not found') });
    await expect(ollama.chat({ model: MODELS.rateLimited, messages: [] })).rejects.toMatchObject({ status_code: 429, error: 'Rate limit reached' });
    const unknown = await fetch(`${stack.relay.url}${SECRET}/api/pull`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: expect.any(String) });
  });

  it('embeds, one input or many, through /v1/embeddings', async () => {
    const many = await ollama.embed({ model: 'fast', input: ['one', 'two'] });
    expect(many).toMatchObject({ model: 'fast', embeddings: [[0, 0.5, -0.25], [1, 0.5, -0.25]], prompt_eval_count: 6 });
    expect(stack.upstream.seen.at(-1)).toMatchObject({ url: '/v1/embeddings', headers: { authorization: `Bearer ${stack.key}` } });
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({ model: 'gpt-fake', input: ['one', 'two'], encoding_format: 'float' });
    expect(await ollama.embed({ model: 'gpt-fake', input: 'one', dimensions: 3 })).toMatchObject({ embeddings: [[0, 0.5, -0.25]] });
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({ input: ['one'], dimensions: 3 });
    // The older endpoint: one prompt, one embedding.
    expect(await ollama.embeddings({ model: 'gpt-fake', prompt: 'one' })).toEqual({ embedding: [0, 0.5, -0.25] });
    await expect(ollama.embed({ model: 'gpt-other', input: 'x' })).rejects.toMatchObject({ status_code: 404 });
  });

  it('ends a stream the upstream cuts with an Ollama error line, not a cut socket', async () => {
    const parts: string[] = [];
    const reading = (async () => {
      for await (const part of await ollama.chat({ model: MODELS.brokenStream, messages: [{ role: 'user', content: 'hi' }], stream: true })) parts.push(part.message.content);
    })();
    await expect(reading).rejects.toThrow(/upstream/);
    expect(parts).toEqual(['part0 ']);
    const raw = await fetch(`${stack.relay.url}${SECRET}/api/generate`, { method: 'POST', body: JSON.stringify({ model: MODELS.brokenStream, prompt: 'hi' }) });
    const lines = (await raw.text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.at(-1)).toEqual({ error: expect.stringContaining('upstream') });
  });

  it('answers with or without a trailing slash', async () => {
    const slashed = await fetch(`${stack.relay.url}${SECRET}/api/tags/`);
    expect(slashed.status).toBe(200);
    expect(await slashed.json()).toEqual(await (await fetch(`${stack.relay.url}${SECRET}/api/tags`)).json());
    expect((await fetch(`${stack.relay.url}${SECRET}/api/version/`)).status).toBe(200);
  });

  it("serves Ollama's OpenAI-compatible /v1 under the secret path too, which Copilot chats through", async () => {
    // Copilot's Ollama provider sends no usable key: the secret path is the credential.
    const client = new OpenAI({ apiKey: 'ollama', baseURL: `${stack.relay.url}${SECRET}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBe('Hello from the fake upstream.');
    expect(stack.upstream.chatBodies.at(-1)).toMatchObject({ model: 'gpt-fake' });
    expect(stack.upstream.seen.at(-1)).toMatchObject({ url: '/v1/chat/completions', headers: { authorization: `Bearer ${stack.key}` } });
    await expect(client.chat.completions.create({ model: 'gpt-other', messages: [] })).rejects.toMatchObject({ status: 403 });
  });

  it('refuses dot segments under the secret path and never calls the upstream', async () => {
    const before = stack.upstream.seen.length;
    for (const rest of ['/v1/../x', '/v1/../../admin', '/v1/%2e%2e/x', '/v1/%2E%2e/%2e%2e/admin', '/v1/./models']) {
      const answer = await rawRequest(stack.relay.port, `GET ${SECRET}${rest} HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\n\r\n`);
      expect(statusOf(answer), rest).toBe(404);
    }
    expect(stack.upstream.seen.length).toBe(before);
  });

  it('cancels the upstream request when a client hangs up mid-stream', async () => {
    const aborted = stack.upstream.streamAborted();
    const stream = await ollama.chat({ model: MODELS.endless, messages: [{ role: 'user', content: 'forever' }], stream: true });
    let received = 0;
    try {
      for await (const part of stream) if (part.message.content && ++received === 3) stream.abort();
    } catch {
      // The client ends its iteration with an AbortError: that is the hang-up.
    }
    expect(received).toBe(3);
    expect(await msUntilUpstreamCut(aborted, Date.now())).toBeLessThan(2_000);
    await eventually(() => stack.relay.logLines().some((line) => line.path === '/<ollama>/api/chat' && line.outcome === 'client_closed'));
  });

  it('is not there without the secret path, and the secret never reaches the log', async () => {
    const before = stack.upstream.seen.length;
    for (const path of ['/api/tags', `${SECRET.slice(0, -1)}/api/tags`, `${SECRET}x/api/tags`]) {
      expect((await fetch(`${stack.relay.url}${path}`)).status, path).toBe(404);
    }
    expect(stack.upstream.seen.length).toBe(before);
    await eventually(() => stack.relay.logLines().some((line) => line.path === '/<ollama>/api/chat'));
    expect(stack.relay.output()).not.toContain(SECRET.slice(1));
    expect(stack.relay.output()).not.toContain(stack.key);
    expect(stack.relay.output()).not.toContain(stack.token);
  });
});
