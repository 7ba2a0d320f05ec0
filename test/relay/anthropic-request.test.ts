// The Anthropic request translation, block by block: what each content block, tool and setting
// becomes in the chat completion, and the 400 for each block this relay does not translate.
import { describe, expect, it } from 'vitest';
import { AnthropicFailure } from '../../src/relay/anthropic/errors.js';
import { chatCompletionRequest, endUser, isReasoningModel, reasoningEffort, type AnthropicBlock, type AnthropicRequest } from '../../src/relay/anthropic/request.js';

const ask = (content: string | AnthropicBlock[], extra: Partial<AnthropicRequest> = {}, model = 'gpt-4o') =>
  chatCompletionRequest({ max_tokens: 100, messages: [{ role: 'user', content }], ...extra }, model);

function refusal(run: () => unknown): [number, string, string] | undefined {
  try {
    run();
  } catch (error) {
    const failure = error as AnthropicFailure;
    return [failure.status, failure.type, failure.message];
  }
  return undefined;
}

describe('reasoning models: o-series and gpt-5, not their chat variants', () => {
  it.each([
    ['o1', true],
    ['o3-mini', true],
    ['gpt-5', true],
    ['gpt-5-mini', true],
    ['gpt-5-chat-latest', false],
    ['gpt-4o', false],
    ['omni-moderation-latest', false],
    ['ft:o3-mini', false],
    ['my-gpt-5', false],
  ])('%s: %s', (model, reasoning) => {
    expect(isReasoningModel(model)).toBe(reasoning);
  });

  it('maps effort low and medium as they are, anything higher to high', () => {
    expect(reasoningEffort({ output_config: { effort: 'low' } })).toBe('low');
    expect(reasoningEffort({ output_config: { effort: 'medium' } })).toBe('medium');
    expect(reasoningEffort({ output_config: { effort: 'max' } })).toBe('high');
  });

  it('drops temperature and top_p for a reasoning model, and sends the effort', () => {
    expect(ask('hi', { temperature: 0.2, top_p: 0.9, output_config: { effort: 'low' } }, 'o3')).toStrictEqual({
      model: 'o3',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 100,
      reasoning_effort: 'low',
    });
    expect(ask('hi', { temperature: 0.2, top_p: 0.9, output_config: { effort: 'low' } })).toStrictEqual({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
    });
  });
});

describe('user content: text, images and tool results', () => {
  it('joins text blocks with a blank line, and keeps parts when an image is among them', () => {
    expect(ask([{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }]).messages).toEqual([{ role: 'user', content: 'a\n\nb' }]);
    expect(ask([{ type: 'text', text: 'see' }, { type: 'image', source: { type: 'url', url: 'https://img.example/cat.png' } }]).messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'https://img.example/cat.png' } }] },
    ]);
  });

  it('sends only tool messages when the turn holds only tool results', () => {
    expect(ask([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }, { type: 'tool_result', tool_use_id: 'toolu_2' }]).messages).toStrictEqual([
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'toolu_2', content: '' },
    ]);
  });

  it("puts a tool result's text in the tool message and its images in a user message after it", () => {
    expect(
      ask([
        {
          type: 'tool_result',
          tool_use_id: 'toolu_1',
          content: [
            { type: 'text', text: 'chart: ' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
            { type: 'text', text: 'done' },
          ],
        },
      ]).messages,
    ).toStrictEqual([
      { role: 'tool', tool_call_id: 'toolu_1', content: 'chart: done' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }] },
    ]);
  });

  it.each([
    [[{ type: 'document', source: {} }], 'document blocks (PDFs, text documents) are not translated by this relay: send the text as a text block.'],
    [[{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document' }] }], 'document blocks (PDFs, text documents) are not translated by this relay: send the text as a text block.'],
    [[{ type: 'x'.repeat(60) }], `content blocks of type "${'x'.repeat(50)}" are not translated by this relay.`],
    [[{ type: 'image', source: { type: 'file', file_id: 'f' } }], 'image: only base64 and url sources are translated on this relay.'],
    [[{ type: 'image' }], 'image: only base64 and url sources are translated on this relay.'],
    [[{ type: 'search_result' }], 'content blocks of type "search_result" are not translated by this relay.'],
  ])('refuses %j with a 400', (content, message) => {
    expect(refusal(() => ask(content as AnthropicBlock[]))).toEqual([400, 'invalid_request_error', message]);
  });
});

describe('assistant turns: text, tool calls, and earlier thinking left out', () => {
  const turn = (content: AnthropicBlock[]) =>
    chatCompletionRequest({ max_tokens: 10, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content }] }, 'gpt-4o').messages[1];

  it('sends null content when the turn is only calls, and no tool_calls when it has none', () => {
    expect(turn([{ type: 'tool_use', id: 'toolu_1', name: 'now', input: undefined }])).toStrictEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'now', arguments: '{}' } }],
    });
    expect(turn([{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'redacted_thinking', data: 'x' }, { type: 'text', text: 'a' }, { type: 'text', text: 'b' }])).toStrictEqual({
      role: 'assistant',
      content: 'ab',
    });
    expect(turn([{ type: 'thinking', thinking: 'hmm' }])).toStrictEqual({ role: 'assistant', content: null });
  });

  it('refuses a block an assistant turn cannot hold', () => {
    expect(refusal(() => turn([{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }]))).toEqual([
      400,
      'invalid_request_error',
      'content blocks of type "server_tool_use" are not translated by this relay.',
    ]);
  });

  it('sends plain-string assistant and system turns as they are', () => {
    expect(
      chatCompletionRequest({ max_tokens: 10, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'system', content: 'be brief' }] }, 'gpt-4o').messages,
    ).toStrictEqual([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a' },
      { role: 'system', content: 'be brief' },
    ]);
  });

  it('keeps only the text of a system message between turns', () => {
    expect(
      chatCompletionRequest(
        { max_tokens: 10, messages: [{ role: 'user', content: 'q' }, { role: 'system', content: [{ type: 'text', text: 'be ' }, { type: 'image', source: { type: 'url', url: 'u' } }, { type: 'text', text: 'brief' }] }] },
        'gpt-4o',
      ).messages[1],
    ).toEqual({ role: 'system', content: 'be brief' });
  });

  it('refuses another role, naming it (cut short)', () => {
    expect(refusal(() => chatCompletionRequest({ max_tokens: 10, messages: [{ role: 'tool' as 'user', content: 'x' }] }, 'gpt-4o'))).toEqual([
      400,
      'invalid_request_error',
      'messages: role must be "user", "assistant" or "system", not "tool".',
    ]);
    expect(refusal(() => chatCompletionRequest({ max_tokens: 10, messages: [{ role: 'r'.repeat(30) as 'user', content: 'x' }] }, 'gpt-4o'))?.[2]).toBe(
      `messages: role must be "user", "assistant" or "system", not "${'r'.repeat(20)}".`,
    );
  });
});

describe('the request: system, tools, choice, stop, user and limits', () => {
  it('sends no system message for an empty or missing system prompt', () => {
    expect(ask('hi', { system: '' }).messages).toStrictEqual([{ role: 'user', content: 'hi' }]);
    expect(ask('hi', { system: [] }).messages).toStrictEqual([{ role: 'user', content: 'hi' }]);
  });

  it('sends client tools only, with their description when given and an empty object schema when not', () => {
    expect(
      ask('hi', {
        tools: [{ name: 'a' }, { type: 'custom', name: 'b', description: 'B', input_schema: { type: 'object', properties: { x: { type: 'string' } } } }, { type: 'web_search_20250305', name: 'web_search' }],
      }).tools,
    ).toStrictEqual([
      { type: 'function', function: { name: 'a', parameters: { type: 'object', properties: {} } } },
      { type: 'function', function: { name: 'b', description: 'B', parameters: { type: 'object', properties: { x: { type: 'string' } } } } },
    ]);
  });

  it('sends a tool choice and parallel_tool_calls only with tools', () => {
    const tools = [{ name: 'a' }];
    expect(ask('hi', { tools, tool_choice: { type: 'any', disable_parallel_tool_use: true } })).toMatchObject({ tool_choice: 'required', parallel_tool_calls: false });
    expect(ask('hi', { tools, tool_choice: { type: 'auto' } })).not.toHaveProperty('parallel_tool_calls');
    expect(ask('hi', { tools })).not.toHaveProperty('tool_choice');
    expect(ask('hi', { tool_choice: { type: 'any', disable_parallel_tool_use: true } })).toStrictEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 100 });
    expect(refusal(() => ask('hi', { tools, tool_choice: { type: 'tool' } }))).toEqual([400, 'invalid_request_error', 'tool_choice.name: required when tool_choice.type is "tool".']);
  });

  it('sends stop sequences only when there are some, and the end user only when set', () => {
    expect(ask('hi', { stop_sequences: [], metadata: { user_id: '' } })).toStrictEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 100 });
    expect(ask('hi', { stop_sequences: ['END'], metadata: { user_id: 'u-1' } })).toMatchObject({ stop: ['END'], user: 'u-1' });
  });

  it('keeps an end-user id of up to 64 characters as it is', () => {
    expect(endUser('u'.repeat(64))).toBe('u'.repeat(64));
    expect(endUser('u'.repeat(65))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses max_tokens below 1, or missing, and an empty message list', () => {
    const message = [400, 'invalid_request_error', 'max_tokens: a positive number is required.'];
    expect(refusal(() => ask('hi', { max_tokens: 0 }))).toEqual(message);
    expect(refusal(() => ask('hi', { max_tokens: undefined }))).toEqual(message);
    expect(ask('hi', { max_tokens: 1 }).max_completion_tokens).toBe(1);
    expect(refusal(() => chatCompletionRequest({ max_tokens: 1, messages: [] }, 'gpt-4o'))).toEqual([400, 'invalid_request_error', 'messages: at least one message is required.']);
  });

  it('asks for strict JSON for a json_schema output format, and nothing for none', () => {
    const schema = { type: 'object' };
    expect(ask('hi', { output_config: { format: { type: 'json_schema', schema } } }).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    expect(ask('hi', { output_config: { format: null } })).not.toHaveProperty('response_format');
  });

  it('asks for usage at the end of a stream, and sends no stream fields otherwise', () => {
    expect(ask('hi', { stream: true })).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(ask('hi', { stream: false })).toStrictEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 100 });
  });
});
