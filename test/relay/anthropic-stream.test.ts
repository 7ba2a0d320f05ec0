// The Anthropic answer and stream translation at their edges: answers and chunks with parts
// missing, tool calls streamed alone or in fragments, stop sequences, usage and errors mid-stream.
import { describe, expect, it } from 'vitest';
import { toolInput } from '../../src/relay/chat-completion.js';
import { anthropicMessage, anthropicUsage, stopReason } from '../../src/relay/anthropic/response.js';
import type { ChatChunk } from '../../src/relay/chat-completion.js';
import { StreamTranslator, streamError } from '../../src/relay/anthropic/stream.js';

const NO_USAGE = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

describe('answers: an OpenAI completion with parts missing', () => {
  it('answers with no content and end_turn when there is no choice, message or text', () => {
    const empty = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: 'end_turn', stop_sequence: null, usage: NO_USAGE };
    expect(anthropicMessage({}, 'msg_1', 'claude-x')).toStrictEqual(empty);
    expect(anthropicMessage({ choices: [{ finish_reason: 'stop' }] } as never, 'msg_1', 'claude-x')).toStrictEqual(empty);
    expect(anthropicMessage({ choices: [{ message: { content: '' }, finish_reason: 'stop' }] } as never, 'msg_1', 'claude-x')).toStrictEqual(empty);
  });

  it("sends a refusal as the answer's text", () => {
    expect(anthropicMessage({ choices: [{ message: { content: null, refusal: 'I cannot help with that.' }, finish_reason: 'stop' }] } as never, 'msg_1', 'claude-x').content).toEqual([
      { type: 'text', text: 'I cannot help with that.' },
    ]);
  });

  it('names the stop sequence only when the upstream names one the client sent', () => {
    const answer = (stop_reason: unknown) => anthropicMessage({ choices: [{ message: { content: 'a' }, finish_reason: 'stop', stop_reason }] } as never, 'm', 'c', ['END']);
    expect([answer('END').stop_reason, answer('END').stop_sequence]).toEqual(['stop_sequence', 'END']);
    expect([answer('OTHER').stop_reason, answer('OTHER').stop_sequence]).toEqual(['end_turn', null]);
  });

  it('ends the turn for an empty matched sequence', () => {
    expect(stopReason('stop', '')).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
    expect(stopReason('function_call')).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
  });

  it('counts no cache reads when the upstream reports no details', () => {
    expect(anthropicUsage({ prompt_tokens: 7, completion_tokens: 3 })).toEqual({ input_tokens: 7, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('reads tool arguments as JSON, or {} when they are empty or not JSON', () => {
    expect(toolInput('{"a":1}')).toEqual({ a: 1 });
    expect(toolInput('')).toEqual({});
    expect(toolInput('{"a":')).toEqual({});
  });
});

describe('stream: chunks with parts missing', () => {
  const run = (chunks: ChatChunk[], stopSequences: string[] = []) => {
    const stream = new StreamTranslator('msg_1', 'claude-x', stopSequences);
    return [...chunks.flatMap((chunk) => stream.push(chunk)), ...stream.end()].map((event) => event.data);
  };

  it('keeps the usage of an earlier chunk, and reads a chunk with no choices or no delta', () => {
    expect(
      run([
        { choices: [{ delta: { content: 'hi' } }] },
        { usage: { prompt_tokens: 5, completion_tokens: 1 } },
        { choices: [{ finish_reason: 'length' }] },
        { choices: [{ delta: {}, finish_reason: null }] },
      ]),
    ).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { input_tokens: 5, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
      { type: 'message_stop' },
    ]);
  });

  it('opens a tool block for a call that comes first, one per call, with fragments as JSON deltas', () => {
    expect(
      run([
        { choices: [{ delta: { tool_calls: [{ index: 0, id: 'call_a', function: { name: 'weather', arguments: '' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 0 }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 1 }] } }] },
        { choices: [{ delta: { tool_calls: [{ function: { arguments: '{}' } }] } }] },
        { choices: [{ delta: {}, finish_reason: 'tool_calls' }] },
      ]),
    ).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'call_a', name: 'weather', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_msg_1_1', name: '', input: {} } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_msg_1_0', name: '', input: {} } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 2 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: NO_USAGE },
      { type: 'message_stop' },
    ]);
  });

  it('names a stop sequence only when the upstream names one the client sent', () => {
    const last = (stop_reason: string | number) => run([{ choices: [{ delta: { content: 'a' }, finish_reason: 'stop', stop_reason }] }], ['END', '5']).at(-2);
    expect(last('END')).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: 'END' } });
    expect(last('OTHER')).toMatchObject({ delta: { stop_reason: 'end_turn', stop_sequence: null } });
    expect(last(5)).toMatchObject({ delta: { stop_reason: 'end_turn', stop_sequence: null } });
  });

  it('reports an error after the start as an error event', () => {
    expect(streamError('overloaded_error', 'The upstream is overloaded.')).toEqual({
      event: 'error',
      data: { type: 'error', error: { type: 'overloaded_error', message: 'The upstream is overloaded.' } },
    });
  });
});
