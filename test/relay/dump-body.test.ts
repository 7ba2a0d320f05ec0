// How a RELAY_DUMP line shows a body, on its own (the fast lane): the capped copy taken while the
// exchange runs, then parsed JSON, SSE events or text, decoded when compressed, cut at the cap.
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CappedBody, describeBody } from '../../src/relay/dump.js';

describe('the capped body copy', () => {
  it('holds at most the cap whatever passes, and counts the rest', () => {
    const body = new CappedBody(1000);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 160; i++) body.add(chunk);
    expect(body.held).toBe(1000);
    expect(body.total).toBe(160 * 64 * 1024);
    expect(body.bytes().length).toBe(1000);
  });

  it('copies what it keeps: the chunk it came from is not held', () => {
    const body = new CappedBody(10);
    const chunk = Buffer.from('0123456789abcdef');
    body.add(chunk);
    chunk.fill(0x7a);
    expect(body.bytes().toString()).toBe('0123456789');
  });

  it('counts text in bytes, and keeps the start of the chunk that reaches the cap', () => {
    const body = new CappedBody(5);
    body.add('héllo');
    body.add('');
    body.add(Buffer.from('more'));
    expect(body.total).toBe(10);
    expect(body.held).toBe(5);
    expect(body.bytes().toString()).toBe('héll');
    const filled = new CappedBody(5);
    filled.add('abc');
    filled.add('defgh');
    expect([filled.held, filled.bytes().toString()]).toEqual([5, 'abcde']);
  });
});

/** A body of `text` as the taps would hold it with `cap`. */
const held = (content: string | Buffer, cap = 1024) => {
  const body = new CappedBody(cap);
  body.add(content);
  return body;
};

describe('a body in the dump', () => {
  it('is its size alone when empty', async () => {
    expect(await describeBody(held(''), { 'content-type': 'application/json' }, 1024)).toEqual({ body_bytes: 0 });
  });

  it('is parsed when it is JSON (an object or a list); other JSON and other text stay text', async () => {
    const json = { 'content-type': 'application/json; charset=utf-8' };
    expect(await describeBody(held('{"a":[1]}'), json, 1024)).toEqual({ body_bytes: 9, body: { a: [1] } });
    expect(await describeBody(held('[1,2]'), { 'content-type': 'application/vnd.api+json' }, 1024)).toEqual({ body_bytes: 5, body: [1, 2] });
    expect(await describeBody(held('42'), json, 1024)).toEqual({ body_bytes: 2, body: '42' });
    expect(await describeBody(held('null'), json, 1024)).toEqual({ body_bytes: 4, body: 'null' });
    expect(await describeBody(held('{not json'), json, 1024)).toEqual({ body_bytes: 9, body: '{not json' });
    expect(await describeBody(held('{"a":1}'), { 'content-type': 'text/plain' }, 1024)).toEqual({ body_bytes: 7, body: '{"a":1}' });
    expect(await describeBody(held('a=1'), {}, 1024)).toEqual({ body_bytes: 3, body: 'a=1' });
    for (const type of ['application/xml', 'application/x-ndjson', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'TEXT/HTML']) {
      expect(await describeBody(held('<x/>'), { 'content-type': type }, 1024), type).toEqual({ body_bytes: 4, body: '<x/>' });
    }
  });

  it('is not shown when it is not text', async () => {
    for (const type of ['image/png', 'application/octet-stream', 'audio/mpeg']) {
      expect(await describeBody(held('abc'), { 'content-type': type }, 1024), type).toEqual({ body_bytes: 3, note: `not shown: ${type} is not text` });
    }
  });

  it('is cut at the cap with the word the cap cut in half, and says how much more there was', async () => {
    const body = held('{"note":"one two three-and-a-secret-cut-here"}', 30);
    expect(await describeBody(body, { 'content-type': 'application/json' }, 30)).toEqual({
      body_bytes: 46,
      body: '{"note":"one two ',
      dropped_bytes: 16,
      note: 'cut at 30 bytes: 16 more bytes not kept',
    });
    expect(await describeBody(held('exactly10!', 10), {}, 10)).toEqual({ body_bytes: 10, body: 'exactly10!' });
  });

  it('is an event stream as its list of events, each parsed when it is JSON; a line cut at the cap is left out', async () => {
    const stream = 'data: {"i":1}\n\ndata: plain\n\nevent: x\ndata: [DONE]\n\n';
    const sse = { 'content-type': 'text/event-stream' };
    expect(await describeBody(held(stream), sse, 1024)).toEqual({ body_bytes: stream.length, events: [{ i: 1 }, 'plain', '[DONE]'] });
    expect(await describeBody(held(stream + 'data: {"i":2}', 1024), sse, 1024)).toMatchObject({ events: [{ i: 1 }, 'plain', '[DONE]', { i: 2 }] });
    for (const cap of [40, 45]) {
      const cut = await describeBody(held(stream, cap), sse, cap);
      expect(cut, String(cap)).toMatchObject({ body_bytes: stream.length, events: [{ i: 1 }, 'plain'], dropped_bytes: stream.length - cap });
    }
  });

  it('is decoded when compressed (gzip, x-gzip, deflate, br, any case); other encodings are not shown', async () => {
    const text = JSON.stringify({ answer: 'decoded' });
    const json = (encoding: string) => ({ 'content-type': 'application/json', 'content-encoding': encoding });
    for (const [encoding, bytes] of [
      ['gzip', gzipSync(text)],
      ['X-GZIP', gzipSync(text)],
      ['deflate', deflateSync(text)],
      ['br', brotliCompressSync(text)],
    ] as const) {
      expect(await describeBody(held(bytes), json(encoding), 1024), encoding).toEqual({ body_bytes: bytes.length, body: { answer: 'decoded' } });
    }
    expect(await describeBody(held(text), json('identity'), 1024)).toEqual({ body_bytes: text.length, body: { answer: 'decoded' } });
    expect(await describeBody(held('abc'), json('zstd'), 1024)).toEqual({ body_bytes: 3, note: 'not shown: a zstd-encoded body' });
    expect(await describeBody(held('not gzip at all'), json('gzip'), 1024)).toEqual({ body_bytes: 15, note: 'not shown: a gzip-encoded body' });
  });

  it('decoded, is cut at the cap once decoded, even when the encoded body was whole', async () => {
    const bytes = gzipSync('word '.repeat(1000));
    const described = await describeBody(held(bytes, 4096), { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, 100);
    expect(described).toEqual({
      body_bytes: bytes.length,
      body: 'word '.repeat(20),
      dropped_bytes: 0,
      note: 'cut at 100 bytes once decoded (gzip): 0 more encoded bytes not kept',
    });
  });

  it('decoded, is whole when it decodes to exactly the cap, and cut when more follows the cap', async () => {
    const plain = { 'content-type': 'text/plain', 'content-encoding': 'gzip' };
    expect(await describeBody(held(gzipSync('x'.repeat(100))), plain, 100)).toMatchObject({ body: 'x'.repeat(100) });
    expect(await describeBody(held(gzipSync('x'.repeat(100))), plain, 100)).not.toHaveProperty('note');
    // The decoder hands out 16 KiB at a time: the cap is reached at the end of a piece, and another follows.
    const twoPieces = await describeBody(held(gzipSync('x'.repeat(32 * 1024))), plain, 16 * 1024);
    expect(twoPieces).toMatchObject({ note: 'cut at 16384 bytes once decoded (gzip): 0 more encoded bytes not kept' });
    // Past the first piece: the whole cap is decoded, not just what came first.
    const wide = await describeBody(held(gzipSync('y '.repeat(25_000)), 65_536), plain, 40_000);
    expect(String(wide.body).length).toBeGreaterThan(39_990);
  });

  it('decoded, shows what its bytes give when the encoded body was cut', async () => {
    const bytes = gzipSync('line one\nline two\n'.repeat(50));
    const cap = bytes.length - 10;
    const described = (await describeBody(held(bytes, cap), { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, cap)) as Record<string, string>;
    expect(described.body).toMatch(/^(line one\nline two\n)+/);
    expect(described.note).toBe(`cut at ${cap} bytes once decoded (gzip): 10 more encoded bytes not kept`);
  });
});
