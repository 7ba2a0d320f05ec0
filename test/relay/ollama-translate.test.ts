// The Ollama <-> OpenAI translation as pure functions: each Ollama request against the exact chat
// completion it becomes, and each OpenAI answer part against what an Ollama client reads.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  chatRequest,
  doneReason,
  doneStats,
  embeddingsFromOpenAI,
  embeddingsRequest,
  generateRequest,
  imageDataUrl,
  modelName,
  showFromModel,
  tagFromModel,
  toolCallsFromOpenAI,
} from '../../src/relay/ollama/translate.js';

describe('chat: an Ollama /api/chat body becomes a chat completion', () => {
  it('keeps roles and text, and asks for usage when streaming', () => {
    expect(
      chatRequest({ messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hi' }, { role: 'user' }] }, 'gpt-4o', true),
    ).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'user', content: '' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends stream: false and no stream options when not streaming, and no messages when none came', () => {
    expect(chatRequest({}, 'gpt-4o', false)).toEqual({ model: 'gpt-4o', messages: [], stream: false });
  });

  it('passes tools through only when there are some', () => {
    const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }];
    expect(chatRequest({ tools }, 'm', false)).toEqual({ model: 'm', messages: [], tools, stream: false });
    expect(chatRequest({ tools: [] }, 'm', false)).toEqual({ model: 'm', messages: [], stream: false });
  });
});

describe('images: bare base64 becomes a data URL of the right type', () => {
  it.each([
    ['/9j/4AAQ', 'image/jpeg'],
    ['R0lGODlh', 'image/gif'],
    ['UklGRiQA', 'image/webp'],
    ['iVBORw0K', 'image/png'],
    ['anything', 'image/png'],
  ])('%s is %s', (base64, type) => {
    expect(imageDataUrl(base64)).toBe(`data:${type};base64,${base64}`);
  });

  it('puts the text first, then each image, in one content array', () => {
    expect(chatRequest({ messages: [{ role: 'user', content: 'What is this?', images: ['/9j/AA', 'iVBOR'] }] }, 'm', false).messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/AA' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } },
        ],
      },
    ]);
  });

  it('leaves out an empty text part, and keeps plain text when the image list is empty', () => {
    expect(chatRequest({ messages: [{ role: 'user', images: ['R0lGOD'] }, { role: 'user', content: 'x', images: [] }] }, 'm', false).messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/gif;base64,R0lGOD' } }] },
      { role: 'user', content: 'x' },
    ]);
  });
});

describe('tools: Ollama calls and results get OpenAI call ids, answered in order', () => {
  it('numbers the calls, serialises their arguments and gives each result the id of its call', () => {
    const messages = chatRequest(
      {
        messages: [
          { role: 'user', content: 'Weather in Paris and time in Oslo?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { function: { name: 'weather', arguments: { city: 'Paris' } } },
              { function: { name: 'time', arguments: { city: 'Oslo' } } },
            ],
          },
          { role: 'tool', content: '10:00', tool_name: 'time' },
          { role: 'tool', content: 'sunny', tool_name: 'weather' },
        ],
      },
      'm',
      false,
    ).messages;
    expect(messages).toEqual([
      { role: 'user', content: 'Weather in Paris and time in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_0', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_1', type: 'function', function: { name: 'time', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', content: '10:00', tool_call_id: 'call_1' },
      { role: 'tool', content: 'sunny', tool_call_id: 'call_0' },
    ]);
  });

  it('keeps the assistant text beside its calls and sends {} for missing arguments', () => {
    const call = { function: { name: 'now' } } as unknown as { function: { name: string; arguments: Record<string, unknown> } };
    expect(chatRequest({ messages: [{ role: 'assistant', content: 'Checking.', tool_calls: [call] }] }, 'm', false).messages).toEqual([
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'now', arguments: '{}' } }] },
    ]);
  });

  it('answers results without a tool name in call order, and numbers a result with no open call anew', () => {
    expect(
      chatRequest(
        {
          messages: [
            { role: 'assistant', tool_calls: [{ function: { name: 'a', arguments: {} } }, { function: { name: 'b', arguments: {} } }] },
            { role: 'tool', content: 'A' },
            { role: 'tool', content: 'B' },
            { role: 'tool', content: 'extra' },
          ],
        },
        'm',
        false,
      ).messages,
    ).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_0', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'call_1', type: 'function', function: { name: 'b', arguments: '{}' } },
        ],
      },
      { role: 'tool', content: 'A', tool_call_id: 'call_0' },
      { role: 'tool', content: 'B', tool_call_id: 'call_1' },
      { role: 'tool', content: 'extra', tool_call_id: 'call_2' },
    ]);
  });

  it('answers the oldest open call when the tool name matches none', () => {
    expect(
      (
        chatRequest(
          {
            messages: [
              { role: 'assistant', tool_calls: [{ function: { name: 'a', arguments: {} } }, { function: { name: 'b', arguments: {} } }] },
              { role: 'tool', content: '?', tool_name: 'unknown' },
              { role: 'tool', content: 'B', tool_name: 'b' },
            ],
          },
          'm',
          false,
        ).messages as unknown[]
      ).slice(1),
    ).toEqual([
      { role: 'tool', content: '?', tool_call_id: 'call_0' },
      { role: 'tool', content: 'B', tool_call_id: 'call_1' },
    ]);
  });

  it('treats an assistant message without calls, and calls on any other role, as plain text', () => {
    const call = { function: { name: 'a', arguments: {} } };
    expect(
      chatRequest({ messages: [{ role: 'assistant', content: 'ok', tool_calls: [] }, { role: 'assistant', content: 'no calls' }, { role: 'user', content: 'u', tool_calls: [call] }] }, 'm', false).messages,
    ).toEqual([
      { role: 'assistant', content: 'ok' },
      { role: 'assistant', content: 'no calls' },
      { role: 'user', content: 'u' },
    ]);
  });

  it('never reuses an id: calls after an unmatched result are numbered on', () => {
    expect(
      chatRequest(
        {
          messages: [
            { role: 'tool', content: 'orphan' },
            { role: 'assistant', tool_calls: [{ function: { name: 'a', arguments: {} } }] },
            { role: 'tool', content: 'A', tool_name: 'a' },
          ],
        },
        'm',
        false,
      ).messages,
    ).toEqual([
      { role: 'tool', content: 'orphan', tool_call_id: 'call_0' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'a', arguments: '{}' } }] },
      { role: 'tool', content: 'A', tool_call_id: 'call_1' },
    ]);
  });

  it('reads tool calls from OpenAI into Ollama calls with parsed arguments', () => {
    expect(
      toolCallsFromOpenAI([
        { function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        { function: { name: 'broken', arguments: '{"city":' } },
        { function: { name: 'empty', arguments: '' } },
        {},
      ]),
    ).toEqual([
      { function: { name: 'weather', arguments: { city: 'Paris' } } },
      { function: { name: 'broken', arguments: {} } },
      { function: { name: 'empty', arguments: {} } },
      { function: { name: '', arguments: {} } },
    ]);
    expect(toolCallsFromOpenAI([])).toBeUndefined();
    expect(toolCallsFromOpenAI(undefined)).toBeUndefined();
  });
});

describe('options: Ollama sampling options in OpenAI names', () => {
  it('maps every option, num_predict to max_completion_tokens', () => {
    expect(
      chatRequest(
        { options: { temperature: 0, top_p: 0.5, seed: 7, presence_penalty: 0.1, frequency_penalty: 0.2, num_predict: 64, stop: ['\n', 'END'] } },
        'm',
        false,
      ),
    ).toEqual({
      model: 'm',
      messages: [],
      temperature: 0,
      top_p: 0.5,
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      max_completion_tokens: 64,
      stop: ['\n', 'END'],
      stream: false,
    });
  });

  it.each([0, -1, -2])('leaves out num_predict %d (Ollama: no limit)', (num_predict) => {
    expect(chatRequest({ options: { num_predict, stop: 'END' } }, 'm', false)).toEqual({ model: 'm', messages: [], stop: 'END', stream: false });
  });

  it('keeps num_predict 1', () => {
    expect(chatRequest({ options: { num_predict: 1 } }, 'm', false)).toEqual({ model: 'm', messages: [], max_completion_tokens: 1, stream: false });
  });

  it('asks for a JSON object for format "json" and a named schema for a schema', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    expect(chatRequest({ format: 'json' }, 'm', false).response_format).toEqual({ type: 'json_object' });
    expect(chatRequest({ format: schema }, 'm', false).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });
    expect(chatRequest({ format: '' }, 'm', false)).toStrictEqual({ model: 'm', messages: [], stream: false });
    // Anything else Ollama does not define asks for no format.
    expect(chatRequest({ format: 'yaml' as 'json' }, 'm', false)).toStrictEqual({ model: 'm', messages: [], stream: false });
    expect(chatRequest({ format: null as unknown as '' }, 'm', false)).toStrictEqual({ model: 'm', messages: [], stream: false });
  });
});

describe('generate: an Ollama /api/generate body becomes a chat completion', () => {
  it('sends the system prompt, then the prompt with its images, with options and format', () => {
    expect(
      generateRequest({ system: 'Be terse.', prompt: 'Describe', images: ['UklGR'], options: { temperature: 1 }, format: 'json' }, 'gpt-4o', true),
    ).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image_url', image_url: { url: 'data:image/webp;base64,UklGR' } }] },
      ],
      temperature: 1,
      response_format: { type: 'json_object' },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends an empty user message and no system message when neither came', () => {
    expect(generateRequest({ system: '' }, 'm', false)).toEqual({ model: 'm', messages: [{ role: 'user', content: '' }], stream: false });
  });
});

describe('embeddings: Ollama inputs to OpenAI and the vectors back in input order', () => {
  it('asks for floats, with dimensions only when given', () => {
    expect(embeddingsRequest(['a', 'b'], 'text-embedding-3-small', 256)).toEqual({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'float', dimensions: 256 });
    expect(embeddingsRequest(['a'], 'e', undefined)).toStrictEqual({ model: 'e', input: ['a'], encoding_format: 'float' });
  });

  it('orders the vectors by index', () => {
    expect(
      embeddingsFromOpenAI({
        data: [
          { index: 2, embedding: [3] },
          { index: 0, embedding: [1] },
          { index: 1, embedding: [2] },
        ],
      }),
    ).toEqual([[1], [2], [3]]);
    expect(embeddingsFromOpenAI({})).toEqual([]);
  });
});

describe('done: the finish reason and counters on the last message', () => {
  it.each([
    ['length', 'length'],
    ['stop', 'stop'],
    ['tool_calls', 'stop'],
    [null, 'stop'],
    [undefined, 'stop'],
  ])('finish_reason %s is done_reason %s', (finish, done) => {
    expect(doneReason(finish)).toBe(done);
  });

  it('reports durations in nanoseconds and the token counts', () => {
    expect(doneStats({ prompt_tokens: 12, completion_tokens: 34 }, 1.5)).toEqual({
      total_duration: 1_500_000,
      load_duration: 0,
      prompt_eval_count: 12,
      prompt_eval_duration: 0,
      eval_count: 34,
      eval_duration: 1_500_000,
    });
  });

  it('counts zero tokens without usage and rounds to whole nanoseconds', () => {
    expect(doneStats(undefined, 0.0000004)).toEqual({
      total_duration: 0,
      load_duration: 0,
      prompt_eval_count: 0,
      prompt_eval_duration: 0,
      eval_count: 0,
      eval_duration: 0,
    });
  });
});

describe('models: OpenAI models as Ollama tags and show answers', () => {
  const details = { parent_model: '', format: 'openai', family: 'openai', families: ['openai'], parameter_size: '', quantization_level: '' };

  it('drops the implicit :latest tag only', () => {
    expect(modelName('gpt-4o:latest')).toBe('gpt-4o');
    expect(modelName('gpt-4o:mini')).toBe('gpt-4o:mini');
    expect(modelName('gpt-4o')).toBe('gpt-4o');
  });

  it('lists a model as a tag with its creation time and a digest of its name', () => {
    expect(tagFromModel({ id: 'gpt-4o', created: 1_700_000_000 })).toEqual({
      name: 'gpt-4o',
      model: 'gpt-4o',
      modified_at: '2023-11-14T22:13:20.000Z',
      size: 0,
      digest: createHash('sha256').update('gpt-4o').digest('hex'),
      details,
    });
    expect(tagFromModel({ id: 'x' }).modified_at).toBe('1970-01-01T00:00:00.000Z');
  });

  it('shows a chat model with completion, tools and vision', () => {
    expect(showFromModel('gpt-4o', { id: 'gpt-4o', created: 1_700_000_000 })).toEqual({
      license: '',
      modelfile: '# Served by relay from the OpenAI API\nFROM gpt-4o\n',
      parameters: '',
      template: '{{ .Prompt }}',
      details,
      model_info: { 'general.architecture': 'openai', 'general.basename': 'gpt-4o', 'openai.context_length': 128_000 },
      capabilities: ['completion', 'tools', 'vision'],
      modified_at: '2023-11-14T22:13:20.000Z',
    });
  });

  it('shows an embedding model, by any case of its name, as embedding only', () => {
    expect(showFromModel('e', { id: 'text-Embedding-3-small' }).capabilities).toEqual(['embedding']);
    expect(showFromModel('e', { id: 'x' }).modified_at).toBe('1970-01-01T00:00:00.000Z');
  });
});
