// Anthropic-API clients through the relay (RELAY_ANTHROPIC_MODELS), driven with the official
// @anthropic-ai/sdk against `relay serve` and a fake OpenAI upstream: the relay token as x-api-key or
// bearer, Claude names mapped to OpenAI models, answers translated back, errors in Anthropic's shape.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, emptyTokensFile, renderTokensFile, sha256Hex } from '../../src/shared/tokens-file.js';
import { countInputTokens } from '../../src/relay/anthropic/count-tokens.js';
import { chatCompletionRequest } from '../../src/relay/anthropic/request.js';
import { MODELS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';

const KEY = `sk-SENTINEL-KEY-${randomBytes(8).toString('hex')}`;
const ALICE = `alice-SENTINEL-${randomBytes(16).toString('hex')}`;
const BOB = `bob-SENTINEL-${randomBytes(16).toString('hex')}`;
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const ALLOWED = ['gpt-fake', MODELS.scripted, MODELS.paced, MODELS.endless, ...['400', '403', '429', '500', '503'].map((status) => `status-${status}`)];

let upstream: FakeOpenAI;
let relay: RelayProcess;
let dir: string;
let alice: Anthropic;

const client = (options: ConstructorParameters<typeof Anthropic>[0]) => new Anthropic({ baseURL: relay.url, maxRetries: 0, ...options });

beforeAll(async () => {
  upstream = await startFakeOpenAI('127.0.0.1', { models: ['gpt-fake', 'gpt-other', MODELS.scripted] });
  dir = await mkdtemp(join(tmpdir(), 'relay-anthropic-'));
  const now = Date.now();
  const tokens = addToken(addToken(emptyTokensFile(), { name: 'alice', sha256: sha256Hex(ALICE) }, now), { name: 'bob', sha256: sha256Hex(BOB), rpm: 1 }, now);
  await writeFile(join(dir, 'tokens.json'), renderTokensFile(tokens), { mode: 0o600 });
  relay = await startRelayProcess({
    env: {
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: upstream.url,
      RELAY_TOKENS_FILE: join(dir, 'tokens.json'),
      RELAY_DATA_DIR: join(dir, 'data'),
      RELAY_ANTHROPIC_MODELS: `opus=${MODELS.scripted},sonnet=${MODELS.scripted},haiku=gpt-fake,instant=gpt-other`,
      RELAY_MODELS: ALLOWED.join(','),
    },
  });
  alice = client({ apiKey: ALICE });
});

afterAll(async () => {
  await relay?.stop();
  await upstream?.close();
});

describe('messages.create', () => {
  it('answers JSON: a Claude name mapped by family, the request translated, the token never upstream', async () => {
    const message = await alice.messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 300,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hello?' }],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
    });
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_[0-9a-f]{24}$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-3-5-haiku-latest',
      content: [{ type: 'text', text: 'Hello from the fake upstream.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(upstream.chatBodies.at(-1)).toEqual({
      model: 'gpt-fake',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello?' },
      ],
      max_completion_tokens: 300,
      stop: ['END'],
      user: 'user-42',
    });
    const seen = upstream.seen.at(-1)!;
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['anthropic-version']).toBeUndefined();
  });

  it("takes the token as a bearer token too (Claude Code's ANTHROPIC_AUTH_TOKEN)", async () => {
    const message = await client({ apiKey: null, authToken: ALICE }).messages.create({
      model: 'gpt-fake',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the fake upstream.' }]);
    expect(message.model).toBe('gpt-fake');
  });

  it('streams text as the upstream sends it, chunk by chunk, with usage at the end', async () => {
    const stream = alice.messages.stream({ model: MODELS.paced, max_tokens: 100, messages: [{ role: 'user', content: 'count' }] });
    const arrivals: Array<{ text: string; at: number }> = [];
    stream.on('text', (text) => arrivals.push({ text, at: Date.now() }));
    const message = await stream.finalMessage();
    expect(arrivals.map((arrival) => arrival.text)).toEqual(['part0 ', 'part1 ', 'part2 ', 'part3 ', 'part4 ']);
    // Paced 200 ms apart upstream: not buffered into one burst.
    expect(arrivals.at(-1)!.at - arrivals[0]!.at).toBeGreaterThan(500);
    expect(message).toMatchObject({
      content: [{ type: 'text', text: 'part0 part1 part2 part3 part4 ' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 11, output_tokens: 7 },
    });
    expect(upstream.chatBodies.at(-1)).toMatchObject({ model: MODELS.paced, stream: true, stream_options: { include_usage: true } });
  });

  it('cancels the upstream request when the client hangs up mid-stream', async () => {
    const aborted = upstream.streamAborted();
    const stream = alice.messages.stream({ model: MODELS.endless, max_tokens: 100, messages: [{ role: 'user', content: 'go on' }] });
    const ended = stream.done().catch((error: unknown) => error);
    await new Promise<void>((resolve) => stream.on('text', () => resolve()));
    stream.abort();
    await expect(aborted).resolves.toBeGreaterThan(0);
    expect(await ended).toBeInstanceOf(Anthropic.APIUserAbortError);
  });

  it('runs a tool round trip, two tools in one turn, streamed and not', async () => {
    const tools: Anthropic.Tool[] = [
      { name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      { name: 'get_time', input_schema: { type: 'object', properties: { tz: { type: 'string' } } } },
    ];
    const ask: Anthropic.MessageParam = { role: 'user', content: 'call get_weather with {"city":"Paris"} and call get_time with {"tz":"CET"}' };
    for (const stream of [false, true]) {
      const request = { model: 'claude-sonnet-4-6', max_tokens: 500, tools, tool_choice: { type: 'auto' as const }, messages: [ask] };
      const first = stream ? await alice.messages.stream(request).finalMessage() : await alice.messages.create(request);
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content).toEqual([
        { type: 'tool_use', id: 'call_script_0', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_script_1', name: 'get_time', input: { tz: 'CET' } },
      ]);
      expect(first.usage).toMatchObject({ input_tokens: 100, output_tokens: 30, cache_read_input_tokens: 20 });
      const results: Anthropic.MessageParam = {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_script_0', content: '18C' },
          { type: 'tool_result', tool_use_id: 'call_script_1', content: [{ type: 'text', text: '12:00' }] },
        ],
      };
      const followUp = { ...request, messages: [ask, { role: 'assistant' as const, content: first.content }, results] };
      const second = stream ? await alice.messages.stream(followUp).finalMessage() : await alice.messages.create(followUp);
      expect(second).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'Tool said: 18C | 12:00' }] });
      expect(upstream.chatBodies.at(-1)).toMatchObject({
        model: MODELS.scripted,
        tool_choice: 'auto',
        tools: [
          { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: tools[0]!.input_schema } },
          { type: 'function', function: { name: 'get_time', parameters: tools[1]!.input_schema } },
        ],
        messages: [
          { role: 'user', content: ask.content },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_script_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_script_1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_script_0', content: '18C' },
          { role: 'tool', tool_call_id: 'call_script_1', content: '12:00' },
        ],
      });
    }
  });

  it('sends images, base64 and by URL, as image_url parts', async () => {
    await alice.messages.create({
      model: 'gpt-fake',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    });
    expect(upstream.chatBodies.at(-1)?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          { type: 'text', text: 'What is this?' },
        ],
      },
    ]);
  });
});

describe('messages.countTokens', () => {
  it('counts on the relay with the OpenAI tokenizer, without calling the upstream', async () => {
    const before = upstream.seen.length;
    const request = { model: 'claude-opus-4-1', messages: [{ role: 'user' as const, content: 'Hello, world' }] };
    const { input_tokens } = await alice.messages.countTokens(request);
    // role "user" (1) + "Hello, world" (3) + 3 per message + 3 to prime the answer.
    expect(input_tokens).toBe(10);
    const withTool = await alice.messages.countTokens({
      ...request,
      tools: [{ name: 'lookup', description: 'Look a word up', input_schema: { type: 'object', properties: { word: { type: 'string' } } } }],
    });
    expect(withTool.input_tokens).toBe(
      await countInputTokens(
        chatCompletionRequest(
          {
            ...withTool,
            ...request,
            max_tokens: 1,
            tools: [{ name: 'lookup', description: 'Look a word up', input_schema: { type: 'object', properties: { word: { type: 'string' } } } }],
          },
          MODELS.scripted,
        ),
      ),
    );
    expect(withTool.input_tokens).toBeGreaterThan(input_tokens + 10);
    expect(upstream.seen.length).toBe(before);
  });
});

describe("errors, in Anthropic's shape", () => {
  const ask = (model: string, sdk = alice) =>
    sdk.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => undefined,
      (error: unknown) => error,
    );

  it('authentication_error for a missing or wrong token', async () => {
    const error = await ask('gpt-fake', client({ apiKey: 'not-the-token' }));
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error).toMatchObject({
      status: 401,
      error: { type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('x-api-key') } },
    });
  });

  it('not_found_error for a Claude name with no mapping, and for a model RELAY_MODELS does not allow', async () => {
    const before = upstream.seen.length;
    const unmapped = await ask('claude-2.1');
    expect(unmapped).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unmapped).toMatchObject({ status: 404, error: { error: { type: 'not_found_error', message: expect.stringContaining('RELAY_ANTHROPIC_MODELS') } } });
    // instant=gpt-other: mapped, then refused by RELAY_MODELS.
    const notAllowed = await ask('claude-instant-1.2');
    expect(notAllowed).toMatchObject({
      status: 404,
      error: { error: { type: 'not_found_error', message: expect.stringContaining('gpt-other is not available') } },
    });
    expect(upstream.seen.length).toBe(before);
  });

  it("rate_limit_error with retry-after past the token's own limit", async () => {
    const bob = client({ apiKey: BOB });
    const results = [await ask('gpt-fake', bob), await ask('gpt-fake', bob)];
    const refused = results.find((result) => result !== undefined);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    expect(refused).toMatchObject({ status: 429, error: { error: { type: 'rate_limit_error' } } });
    expect(Number((refused as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it("maps the upstream's statuses to Anthropic's error classes", async () => {
    const cases = [
      ['status-400', Anthropic.BadRequestError, 400, 'invalid_request_error'],
      ['status-403', Anthropic.PermissionDeniedError, 403, 'permission_error'],
      ['status-429', Anthropic.RateLimitError, 429, 'rate_limit_error'],
      ['status-500', Anthropic.InternalServerError, 500, 'api_error'],
      ['status-503', Anthropic.InternalServerError, 529, 'overloaded_error'],
    ] as const;
    for (const [model, type, status, errorType] of cases) {
      const error = await ask(model);
      expect(error, model).toBeInstanceOf(type);
      expect(error, model).toMatchObject({ status, error: { type: 'error', error: { type: errorType, message: `fake upstream error ${model.slice(-3)}` } } });
    }
    const limited = (await ask('status-429')) as InstanceType<typeof Anthropic.APIError>;
    expect(limited.headers?.get('retry-after')).toBe('3');
  });

  it('invalid_request_error for what is not translated, before the upstream is called', async () => {
    const before = upstream.seen.length;
    const error = await alice.messages
      .create({
        model: 'gpt-fake',
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error).toMatchObject({ error: { error: { type: 'invalid_request_error', message: expect.stringContaining('document') } } });
    expect(upstream.seen.length).toBe(before);
  });
});

describe('models.list', () => {
  it("lists the upstream models RELAY_MODELS allows, in Anthropic's shape", async () => {
    const page = await alice.models.list();
    expect(page.data).toEqual([
      { type: 'model', id: 'gpt-fake', display_name: 'gpt-fake', created_at: '1970-01-01T00:00:01.000Z' },
      { type: 'model', id: MODELS.scripted, display_name: MODELS.scripted, created_at: '1970-01-01T00:00:01.000Z' },
    ]);
  });

  it('leaves GET /v1/models without anthropic-version to the OpenAI API', async () => {
    const response = await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${ALICE}` } });
    expect(((await response.json()) as { object: string }).object).toBe('list');
  });
});

describe('accounting', () => {
  it("counts usage per token and upstream model from the upstream's numbers, and logs each request", async () => {
    await eventually(() => usageRows().some((row) => row.model === MODELS.scripted && Number(row.requests) >= 4), 15_000);
    const rows = usageRows();
    // Four scripted answers (tool round trips, JSON and streamed) of 120 prompt + 30 completion tokens.
    expect(rows.find((row) => row.model === MODELS.scripted)).toMatchObject({
      requests: 4,
      promptTokens: 480,
      completionTokens: 120,
      notReported: 0,
      errors: 0,
    });
    expect(relay.logLines().filter((line) => line.msg === 'request' && line.path === '/v1/messages' && line.token === 'alice').length).toBeGreaterThan(5);
  });

  it('never prints a token or the key, and never sends a token upstream', () => {
    for (const secret of [ALICE, BOB, KEY]) expect(relay.output()).not.toContain(secret);
    const upstreamSaw = JSON.stringify(upstream.seen);
    expect(upstreamSaw).not.toContain(ALICE);
    expect(upstreamSaw).not.toContain(BOB);
  });
});

function usageRows(): Array<Record<string, number | string>> {
  const out = execFileSync(process.execPath, ['dist/relay-server.mjs', 'usage', '--since', '24h', '--json'], {
    env: { ...process.env, RELAY_DATA_DIR: join(dir, 'data') },
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { rows: Array<Record<string, number | string>> }).rows.filter((row) => row.token === 'alice');
}
