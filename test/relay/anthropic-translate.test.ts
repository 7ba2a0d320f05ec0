// The Anthropic <-> OpenAI translation tables as pure functions: request, answer, stream events,
// stop reasons, errors, model choice and token counts, each against the exact expected object.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { countInputTokens, IMAGE_TOKENS } from '../../src/relay/anthropic/count-tokens.js';
import { errorForUpstreamStatus } from '../../src/relay/anthropic/errors.js';
import { anthropicModelList, chooseModel, parseAnthropicModels } from '../../src/relay/anthropic/models.js';
import { chatCompletionRequest, endUser, reasoningEffort, type AnthropicRequest } from '../../src/relay/anthropic/request.js';
import { anthropicMessage, anthropicUsage, stopReason } from '../../src/relay/anthropic/response.js';
import type { ChatChunk } from '../../src/relay/chat-completion.js';
import { formatEvent, StreamTranslator } from '../../src/relay/anthropic/stream.js';
import { parseModelPolicy } from '../../src/relay/models.js';
import { loadRelayConfig } from '../../src/relay/config.js';

describe('request: Anthropic message -> chat completion', () => {
  it("translates system, text, images, tool calls and tool results, in OpenAI's order", () => {
    const request: AnthropicRequest = {
      model: 'claude-sonnet-4-6',
      max_tokens: 1024,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in French.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/AAA' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig' },
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: 'toolu_1', name: 'zoom', input: { factor: 2 } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [
                { type: 'text', text: 'zoomed' },
                { type: 'image', source: { type: 'url', url: 'https://example.com/z.png' } },
              ],
            },
            { type: 'text', text: 'And now?' },
          ],
        },
      ],
      tools: [
        { name: 'zoom', description: 'Zoom in', input_schema: { type: 'object', properties: { factor: { type: 'number' } } } },
        { type: 'web_search_20250305', name: 'web_search' },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['STOP'],
      metadata: { user_id: 'u1' },
      stream: true,
    };
    expect(chatCompletionRequest(request, 'gpt-4.1')).toEqual({
      model: 'gpt-4.1',
      messages: [
        { role: 'system', content: 'You are terse.\n\nAnswer in French.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/AAA' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Let me look.',
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'zoom', arguments: '{"factor":2}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'zoomed' },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'https://example.com/z.png' } },
            { type: 'text', text: 'And now?' },
          ],
        },
      ],
      max_completion_tokens: 1024,
      temperature: 0.5,
      top_p: 0.9,
      stop: ['STOP'],
      user: 'u1',
      tools: [
        { type: 'function', function: { name: 'zoom', description: 'Zoom in', parameters: { type: 'object', properties: { factor: { type: 'number' } } } } },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('takes system messages between turns (Claude Code sends them) and hashes a long user id', () => {
    const userId = JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: 's' });
    expect(
      chatCompletionRequest(
        {
          max_tokens: 5,
          metadata: { user_id: userId },
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'system', content: [{ type: 'text', text: 'Reminder.' }] },
          ],
        },
        'gpt-4o',
      ),
    ).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'system', content: 'Reminder.' },
      ],
      max_completion_tokens: 5,
      user: createHash('sha256').update(userId).digest('hex'),
    });
    expect(endUser('user-42')).toBe('user-42');
  });

  it('maps tool_choice', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const choice = (tool_choice: AnthropicRequest['tool_choice']) =>
      chatCompletionRequest({ max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tools, tool_choice }, 'gpt-4o').tool_choice;
    expect(choice({ type: 'auto' })).toBe('auto');
    expect(choice({ type: 'any' })).toBe('required');
    expect(choice({ type: 'none' })).toBe('none');
    expect(choice({ type: 'tool', name: 'f' })).toEqual({ type: 'function', function: { name: 'f' } });
    expect(choice(undefined)).toBeUndefined();
  });

  it('on a reasoning model: thinking or effort becomes reasoning_effort, sampling settings are dropped', () => {
    const base: AnthropicRequest = { max_tokens: 2000, messages: [{ role: 'user', content: 'think' }], temperature: 1, top_p: 0.5 };
    expect(chatCompletionRequest({ ...base, thinking: { type: 'enabled', budget_tokens: 8000 } }, 'gpt-5')).toEqual({
      model: 'gpt-5',
      messages: [{ role: 'user', content: 'think' }],
      max_completion_tokens: 2000,
      reasoning_effort: 'medium',
    });
    // A model without reasoning: thinking is ignored, sampling kept.
    expect(chatCompletionRequest({ ...base, thinking: { type: 'enabled', budget_tokens: 8000 } }, 'gpt-4o')).toEqual({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'think' }],
      max_completion_tokens: 2000,
      temperature: 1,
      top_p: 0.5,
    });
    expect([1024, 4000, 16_000, undefined].map((budget_tokens) => reasoningEffort({ thinking: { type: 'enabled', budget_tokens } }))).toEqual([
      'low',
      'medium',
      'high',
      'medium',
    ]);
    expect(reasoningEffort({ thinking: { type: 'disabled' } })).toBeUndefined();
    expect(reasoningEffort({ output_config: { effort: 'max' }, thinking: { type: 'enabled', budget_tokens: 1024 } })).toBe('high');
    expect(reasoningEffort({ output_config: { effort: 'low' } })).toBe('low');
  });

  it('asks for structured output with output_config.format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    expect(
      chatCompletionRequest({ max_tokens: 5, messages: [{ role: 'user', content: 'x' }], output_config: { format: { type: 'json_schema', schema } } }, 'gpt-4o')
        .response_format,
    ).toEqual({
      type: 'json_schema',
      json_schema: { name: 'output', schema, strict: true },
    });
  });

  it('refuses what it cannot translate, with the reason', () => {
    const refused = (request: AnthropicRequest) => {
      try {
        chatCompletionRequest(request, 'gpt-4o');
      } catch (error) {
        return { status: (error as { status: number }).status, type: (error as { type: string }).type, message: (error as Error).message };
      }
      return undefined;
    };
    expect(refused({ max_tokens: 1, messages: [] })).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message: 'messages: at least one message is required.',
    });
    expect(refused({ messages: [{ role: 'user', content: 'x' }] })).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message: 'max_tokens: a positive number is required.',
    });
    expect(refused({ max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] })?.message).toMatch(
      /^document blocks \(PDFs, text documents\) are not translated/,
    );
    expect(refused({ max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'search_result' }] }] })?.message).toBe(
      'content blocks of type "search_result" are not translated by this relay.',
    );
  });
});

describe('answer: chat completion -> Anthropic message', () => {
  it('turns content and tool calls into blocks, with parsed input', () => {
    const completion = {
      id: 'chatcmpl-1',
      model: 'gpt-4o-2024-08-06',
      choices: [
        {
          message: {
            content: 'Checking.',
            tool_calls: [
              { id: 'call_a', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
              { id: 'call_b', type: 'function' as const, function: { name: 'broken', arguments: '{"unterminated' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 100, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 64 } },
    };
    expect(anthropicMessage(completion, 'msg_1', 'claude-opus-4-1')).toEqual({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-4-1',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Oslo' } },
        { type: 'tool_use', id: 'call_b', name: 'broken', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 36, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 64 },
    });
  });

  it('maps finish reasons to stop reasons', () => {
    expect(
      Object.fromEntries(
        ['stop', 'length', 'tool_calls', 'function_call', 'content_filter', null].map((finish) => [String(finish), stopReason(finish).stop_reason]),
      ),
    ).toEqual({ stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal', null: 'end_turn' });
    // Only an upstream that names the matched sequence (vLLM does, OpenAI does not) gives stop_sequence.
    expect(stopReason('stop', 'END')).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    expect(anthropicMessage({ choices: [{ message: { content: 'a' }, finish_reason: 'stop', stop_reason: 'END' }] }, 'm', 'x', ['END'])).toMatchObject({
      stop_reason: 'stop_sequence',
      stop_sequence: 'END',
    });
    expect(anthropicMessage({ choices: [{ message: { content: 'a' }, finish_reason: 'stop', stop_reason: 'other' }] }, 'm', 'x', ['END'])).toMatchObject({
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
  });

  it('reports zero usage when the upstream reported none', () => {
    expect(anthropicUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });
});

describe('stream: chat completion chunks -> Anthropic events', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatChunk => ({ choices: [{ delta, finish_reason: finish }] });

  it("emits each chunk's events as it is pushed: text, then tool calls one block each, then stop and usage", () => {
    const translator = new StreamTranslator('msg_s', 'claude-sonnet-4-6');
    expect(translator.start()).toEqual([
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: 'msg_s',
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-6',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
          },
        },
      },
    ]);
    expect(translator.push(chunk({ role: 'assistant', content: '' }))).toEqual([]);
    expect(translator.push(chunk({ content: 'Hel' }))).toEqual([
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } } },
    ]);
    expect(translator.push(chunk({ content: 'lo' }))).toEqual([
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } } },
    ]);
    expect(translator.push(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'a', arguments: '' } }] }))).toEqual([
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      {
        event: 'content_block_start',
        data: { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'a', input: {} } },
      },
    ]);
    expect(translator.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }))).toEqual([
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"x":' } } },
    ]);
    expect(translator.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }))).toEqual([
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } } },
    ]);
    expect(translator.push(chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'b', arguments: '{}' } }] }))).toEqual([
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
      {
        event: 'content_block_start',
        data: { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_2', name: 'b', input: {} } },
      },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } } },
    ]);
    expect(translator.push(chunk({}, 'tool_calls'))).toEqual([]);
    expect(translator.push({ choices: [], usage: { prompt_tokens: 50, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 10 } } })).toEqual([]);
    expect(translator.end()).toEqual([
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 2 } },
      {
        event: 'message_delta',
        data: {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { input_tokens: 40, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 },
        },
      },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]);
  });

  it('ends an empty answer with its stop reason', () => {
    const translator = new StreamTranslator('m', 'gpt-4o');
    translator.push(chunk({}, 'length'));
    expect(translator.end().map((event) => event.event)).toEqual(['message_delta', 'message_stop']);
    expect(formatEvent({ event: 'ping', data: { type: 'ping' } })).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });
});

describe('errors: upstream status -> Anthropic error', () => {
  it('maps each status', () => {
    expect(Object.fromEntries([400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504].map((status) => [status, errorForUpstreamStatus(status)]))).toEqual({
      400: { status: 400, type: 'invalid_request_error' },
      401: { status: 401, type: 'authentication_error' },
      403: { status: 403, type: 'permission_error' },
      404: { status: 404, type: 'not_found_error' },
      409: { status: 409, type: 'invalid_request_error' },
      413: { status: 413, type: 'request_too_large' },
      422: { status: 400, type: 'invalid_request_error' },
      429: { status: 429, type: 'rate_limit_error' },
      500: { status: 500, type: 'api_error' },
      502: { status: 502, type: 'api_error' },
      503: { status: 529, type: 'overloaded_error' },
      504: { status: 504, type: 'api_error' },
    });
  });
});

describe('models: Claude names -> upstream models', () => {
  const models = parseAnthropicModels('opus=gpt-5,sonnet=gpt-5,haiku=gpt-5-mini,claude-3-haiku-20240307=gpt-4o-mini');

  it('matches the family word in the name, an exact entry first; other names pass through', () => {
    const pick = (name: string) => chooseModel(name, models, undefined);
    expect(pick('claude-sonnet-4-6')).toEqual({ ok: true, upstream: 'gpt-5' });
    expect(pick('claude-3-5-haiku-latest')).toEqual({ ok: true, upstream: 'gpt-5-mini' });
    expect(pick('claude-opus-4-1-20250805')).toEqual({ ok: true, upstream: 'gpt-5' });
    expect(pick('claude-3-haiku-20240307')).toEqual({ ok: true, upstream: 'gpt-4o-mini' });
    expect(pick('gpt-4.1')).toEqual({ ok: true, upstream: 'gpt-4.1' });
    expect(pick('claude-2.1')).toEqual({
      ok: false,
      message: expect.stringContaining('claude-2.1 is not mapped to an OpenAI model on this relay (mapped: opus, sonnet, haiku, claude-3-haiku-20240307)'),
    });
  });

  it('applies RELAY_MODELS after mapping, aliases included', () => {
    const allowed = parseModelPolicy('gpt-5-mini,gpt-5=gpt-5-2025-08-07');
    expect(chooseModel('claude-sonnet-4-6', models, allowed)).toEqual({ ok: true, upstream: 'gpt-5-2025-08-07' });
    expect(chooseModel('claude-haiku-4-5', models, allowed)).toEqual({ ok: true, upstream: 'gpt-5-mini' });
    expect(chooseModel('gpt-4o', models, allowed)).toEqual({
      ok: false,
      message: 'model: gpt-4o is not available on this relay. Available: gpt-5-mini, gpt-5.',
    });
  });

  it("lists models in Anthropic's shape", () => {
    expect(anthropicModelList([{ id: 'gpt-5', created: 1_754_000_000 }, { id: 'gpt-5-mini' }])).toEqual({
      data: [
        { type: 'model', id: 'gpt-5', display_name: 'gpt-5', created_at: '2025-07-31T22:13:20.000Z' },
        { type: 'model', id: 'gpt-5-mini', display_name: 'gpt-5-mini', created_at: '1970-01-01T00:00:00.000Z' },
      ],
      has_more: false,
      first_id: 'gpt-5',
      last_id: 'gpt-5-mini',
    });
  });

  it('is off unless RELAY_ANTHROPIC=on or a mapping is set, and refuses a mapping it cannot read', () => {
    const load = (env: Record<string, string>) => loadRelayConfig({ OPENAI_API_KEY: 'sk-x', ...env }).anthropic;
    expect(load({})).toBeUndefined();
    expect(load({ RELAY_ANTHROPIC: 'on' })).toEqual({ families: new Map() });
    expect(load({ RELAY_ANTHROPIC_MODELS: 'Sonnet=gpt-5' })).toEqual({ families: new Map([['sonnet', 'gpt-5']]) });
    expect(load({ RELAY_ANTHROPIC: 'off', RELAY_ANTHROPIC_MODELS: 'sonnet=gpt-5' })).toBeUndefined();
    expect(() => load({ RELAY_ANTHROPIC: 'yes' })).toThrow(/RELAY_ANTHROPIC must be on or off/);
    expect(() => load({ RELAY_ANTHROPIC_MODELS: 'sonnet' })).toThrow(/RELAY_ANTHROPIC_MODELS: cannot read "sonnet"/);
  });
});

describe("count_tokens: o200k_base and OpenAI's chat overheads", () => {
  const count = (request: AnthropicRequest) => countInputTokens(chatCompletionRequest({ max_tokens: 1, ...request }, 'gpt-5'));

  it('counts messages, tool definitions, tool calls and images', async () => {
    // role (1) + text (3) + 3 per message, + 3 to prime the answer.
    expect(await count({ messages: [{ role: 'user', content: 'Hello, world' }] })).toBe(10);
    expect(await count({ system: 'Be brief.', messages: [{ role: 'user', content: 'Hello, world' }] })).toBe(17);
    const image = { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } };
    expect(await count({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello, world' }, image] }] })).toBe(10 + IMAGE_TOKENS);
    const tools = [{ name: 'lookup', description: 'Look a word up', input_schema: { type: 'object', properties: { word: { type: 'string' } } } }];
    // The tool as OpenAI renders functions to the model (a TypeScript namespace), plus its overheads.
    expect(await count({ messages: [{ role: 'user', content: 'Hello, world' }], tools })).toBe(45);
    const call = { role: 'assistant' as const, content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: { word: 'hi' } }] };
    expect(await count({ messages: [{ role: 'user', content: 'Hello, world' }, call] })).toBeGreaterThan(10 + 3);
  });
});
