// Usage read off responses as they stream past: JSON bodies, SSE streams, with or without usage.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createUsageTap, JSON_WHOLE_MAX, usageFromTail } from '../../src/relay/access/usage-tap.js';

/** Feeds `body` in chunks of `size` bytes, as the network would. */
function tap(body: string | Buffer, contentType: string, size = 7, status = 200, contentEncoding?: string) {
  const t = createUsageTap({ contentType, status, contentEncoding });
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  for (let i = 0; i < bytes.length; i += size) t.onChunk(bytes.subarray(i, i + size));
  return t.finish();
}

const completion = JSON.stringify({ id: 'c', object: 'chat.completion', model: 'gpt-fake', choices: [{ message: { content: 'Hi ünïcode' } }], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
const event = (body: unknown) => `data: ${JSON.stringify(body)}\n\n`;
const chunk = (content: string, usage: unknown = undefined) => event({ object: 'chat.completion.chunk', model: 'gpt-fake', choices: usage ? [] : [{ delta: { content } }], ...(usage === undefined ? {} : { usage }) });

describe('usage from JSON responses', () => {
  it('reads model and usage from a chat completion, whatever the chunking', () => {
    for (const size of [1, 3, 64, 100_000]) {
      expect(tap(completion, 'application/json; charset=utf-8', size)).toEqual({ status: 200, stream: false, model: 'gpt-fake', usage: { prompt: 11, completion: 7 }, bytes: Buffer.byteLength(completion) });
    }
  });

  it('reads Responses-API and embeddings usage', () => {
    expect(tap(JSON.stringify({ model: 'm', usage: { input_tokens: 5, output_tokens: 9, total_tokens: 14 } }), 'application/json').usage).toEqual({ prompt: 5, completion: 9 });
    expect(tap(JSON.stringify({ model: 'e', data: [], usage: { prompt_tokens: 8, total_tokens: 8 } }), 'application/json').usage).toEqual({ prompt: 8, completion: 0 });
  });

  it('keeps only head and tail of a large body and still finds model and usage', () => {
    const big = JSON.stringify({ model: 'gpt-big', choices: [{ message: { content: 'x'.repeat(JSON_WHOLE_MAX * 3) } }], usage: { prompt_tokens: 1000, completion_tokens: 2000 } });
    expect(tap(big, 'application/json', 16 * 1024)).toMatchObject({ model: 'gpt-big', usage: { prompt: 1000, completion: 2000 } });
  });

  it('reads a gzip-compressed body', () => {
    expect(tap(gzipSync(completion), 'application/json', 5, 200, 'gzip')).toMatchObject({ model: 'gpt-fake', usage: { prompt: 11, completion: 7 } });
  });

  it('records no usage for responses that carry none, and none for errors', () => {
    expect(tap(JSON.stringify({ object: 'list', data: [] }), 'application/json').usage).toBeUndefined();
    expect(tap('{"error":{"message":"no"}}', 'application/json', 7, 429)).toEqual({ status: 429, stream: false, model: undefined, usage: undefined, bytes: 26 });
    expect(tap('binary audio', 'audio/mpeg').usage).toBeUndefined();
  });

  it('finds the last usage object in a tail, strings with braces and all', () => {
    expect(usageFromTail('..."content":"a } { \\"usage\\": {"}}], "usage" : { "prompt_tokens": 3, "completion_tokens": 4, "details": {"x": "}"} } }')).toEqual({ prompt: 3, completion: 4 });
    expect(usageFromTail('"usage": null')).toBeUndefined();
  });
});

describe('usage from SSE streams', () => {
  const withUsage = chunk('Hel') + chunk('lo') + chunk('', { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }) + 'data: [DONE]\n\n';
  const withoutUsage = chunk('Hel') + chunk('lo') + 'data: [DONE]\n\n';

  it('takes usage from the final usage chunk, whatever the chunking (CRLF too)', () => {
    for (const size of [1, 2, 13, 4096]) {
      expect(tap(withUsage, 'text/event-stream; charset=utf-8', size)).toEqual({ status: 200, stream: true, model: 'gpt-fake', usage: { prompt: 11, completion: 7 }, bytes: Buffer.byteLength(withUsage) });
    }
    expect(tap(withUsage.replaceAll('\n', '\r\n'), 'text/event-stream', 5).usage).toEqual({ prompt: 11, completion: 7 });
  });

  it('says "not_reported" when the stream asked for no usage, instead of guessing', () => {
    expect(tap(withoutUsage, 'text/event-stream')).toMatchObject({ model: 'gpt-fake', usage: 'not_reported' });
    // include_usage sends "usage": null on every chunk before the last.
    expect(tap(event({ model: 'gpt-fake', usage: null }) + 'data: [DONE]\n\n', 'text/event-stream').usage).toBe('not_reported');
  });

  it('reads the Responses API\'s response.completed event', () => {
    const body = `event: response.created\n${event({ type: 'response.created', response: { model: 'gpt-r', usage: null } })}event: response.completed\n${event({ type: 'response.completed', response: { model: 'gpt-r', usage: { input_tokens: 4, output_tokens: 6 } } })}`;
    expect(tap(body, 'text/event-stream', 9)).toMatchObject({ model: 'gpt-r', usage: { prompt: 4, completion: 6 } });
  });

  it('skips an over-long line without holding it', () => {
    const body = `data: ${'x'.repeat(3 * 1024 * 1024)}\n\n${chunk('', { prompt_tokens: 1, completion_tokens: 2 })}`;
    expect(tap(body, 'text/event-stream', 64 * 1024).usage).toEqual({ prompt: 1, completion: 2 });
  });
});
