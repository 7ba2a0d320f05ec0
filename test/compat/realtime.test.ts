// The Realtime API over WebSocket through the relay, with the `ws` client: the relay token as a
// bearer header (servers) or as the openai-insecure-api-key subprotocol (browsers).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../support/relay-process.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

const APP = 'https://app.example';
let stack: RelayStack;
let base: string;

beforeAll(async () => {
  stack = await startRelayStack({ RELAY_PATH_PREFIX: '/openai', RELAY_CORS_ORIGINS: APP, RELAY_MODELS: 'gpt-realtime,voice=gpt-realtime' });
  base = `ws://127.0.0.1:${stack.relay.port}/openai/v1/realtime`;
});

afterAll(() => stack?.stop());

interface Opened {
  ws: WebSocket;
  /** Events as they arrive, text parsed as JSON. */
  next(): Promise<Record<string, unknown>>;
  /** The relay's answer to the handshake (its 101). */
  handshake: IncomingMessage;
}

async function open(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<Opened> {
  const ws = new WebSocket(url, protocols, { headers });
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<(event: Record<string, unknown>) => void> = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const event = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(event);
    else queue.push(event);
  });
  let handshake: IncomingMessage | undefined;
  ws.once('upgrade', (response) => (handshake = response));
  await once(ws, 'open');
  return { ws, handshake: handshake!, next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve))) };
}

/** The HTTP status the relay answered a handshake with, when it refused it. */
async function refusedWith(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, protocols, { headers });
  ws.on('error', () => {});
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  for await (const chunk of response) body += String(chunk);
  ws.terminate();
  return { status: response.statusCode ?? 0, body };
}

describe('Realtime WebSocket through the relay', () => {
  it('accepts the relay token as a bearer header and sends the server key upstream', async () => {
    const { ws, next, handshake } = await open(`${base}?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}`, 'openai-beta': 'realtime=v1', cookie: 'app_session=private', 'x-api-key': stack.token });
    expect(await next()).toMatchObject({ type: 'session.created' });
    const session = stack.upstream.realtime.at(-1)!;
    expect(session.url).toBe('/v1/realtime?model=gpt-realtime');
    expect(session.headers.authorization).toBe(`Bearer ${stack.key}`);
    expect(session.headers['openai-beta']).toBe('realtime=v1');
    expect(JSON.stringify(session.headers)).not.toContain(stack.token);
    expect(session.headers.cookie).toBeUndefined();
    // The upstream's cookies stay with the upstream.
    expect(handshake.headers['set-cookie']).toBeUndefined();
    ws.close();
  });

  it('accepts the token in the subprotocol browsers use, strips it and keeps the others', async () => {
    const protocols = ['realtime', `openai-insecure-api-key.${stack.token}`, 'openai-beta.realtime-v1'];
    const { ws, next } = await open(`${base}?model=gpt-realtime`, protocols, { origin: APP });
    expect(ws.protocol).toBe('realtime');
    expect(await next()).toMatchObject({ type: 'session.created' });
    const session = stack.upstream.realtime.at(-1)!;
    expect(session.headers['sec-websocket-protocol']).toBe('realtime, openai-beta.realtime-v1');
    expect(session.headers.authorization).toBe(`Bearer ${stack.key}`);
    expect(session.headers.origin).toBeUndefined();
    ws.close();
  });

  it('carries text and binary frames both ways, and ping/pong', async () => {
    const { ws, next } = await open(`${base}?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}` });
    await next();
    ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'AAAA' }));
    expect(await next()).toEqual({ type: 'echo', event: { type: 'input_audio_buffer.append', audio: 'AAAA' } });

    const audio = randomBytes(256 * 1024);
    ws.send(audio, { binary: true });
    const [echoed, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    expect(isBinary).toBe(true);
    expect(Buffer.compare(echoed, audio)).toBe(0);

    const payload = Buffer.from('are you there');
    ws.ping(payload);
    const [pong] = (await once(ws, 'pong')) as [Buffer];
    expect(pong.toString()).toBe('are you there');
    ws.close();
  });

  it('passes close codes and reasons both ways', async () => {
    const first = await open(`${base}?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}` });
    await first.next();
    first.ws.send(JSON.stringify({ type: 'test.close', code: 4001, reason: 'upstream says bye' }));
    const [code, reason] = (await once(first.ws, 'close')) as [number, Buffer];
    expect(code).toBe(4001);
    expect(reason.toString()).toBe('upstream says bye');

    const second = await open(`${base}?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}` });
    await second.next();
    const session = stack.upstream.realtime.at(-1)!;
    second.ws.close(4002, 'client says bye');
    expect(await session.closed).toBe(4002);
  });

  it('closes the upstream at once when the client hangs up', async () => {
    const { ws, next } = await open(`${base}?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}` });
    await next();
    const session = stack.upstream.realtime.at(-1)!;
    const hungUpAt = Date.now();
    ws.terminate();
    expect(await session.closed).toBe(1006);
    expect(Date.now() - hungUpAt).toBeLessThan(1_000);
  });

  it('rewrites a model alias in the query string and refuses models off the list', async () => {
    const { ws, next } = await open(`${base}?model=voice`, [], { authorization: `Bearer ${stack.token}` });
    await next();
    expect(stack.upstream.realtime.at(-1)!.url).toBe('/v1/realtime?model=gpt-realtime');
    ws.close();
    const refused = await refusedWith(`${base}?model=gpt-4o-realtime-preview`, [], { authorization: `Bearer ${stack.token}` });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'model_not_found' } });
  });

  it('refuses a missing or wrong token, a foreign origin and other paths before reaching the upstream', async () => {
    const before = stack.upstream.realtime.length;
    expect((await refusedWith(`${base}?model=gpt-realtime`)).status).toBe(401);
    expect((await refusedWith(`${base}?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}x` })).status).toBe(401);
    expect((await refusedWith(`${base}?model=gpt-realtime`, ['realtime', `openai-insecure-api-key.wrong`])).status).toBe(401);
    const foreign = await refusedWith(`${base}?model=gpt-realtime`, ['realtime', `openai-insecure-api-key.${stack.token}`], { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect((await refusedWith(`ws://127.0.0.1:${stack.relay.port}/v1/realtime?model=gpt-realtime`, [], { authorization: `Bearer ${stack.token}` })).status).toBe(404);
    expect((await refusedWith(`ws://127.0.0.1:${stack.relay.port}/openai/v1/models`, [], { authorization: `Bearer ${stack.token}` })).status).toBe(404);
    expect(stack.upstream.realtime.length).toBe(before);
  });

  it("passes the upstream's refusal through with its status and message", async () => {
    const plain = await startRelayStack();
    try {
      const refused = await refusedWith(`ws://127.0.0.1:${plain.relay.port}/v1/realtime`, [], { authorization: `Bearer ${plain.token}` });
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'missing_model' } });
    } finally {
      await plain.stop();
    }
  });

  it('logs one line per session and never the key or the token', async () => {
    await eventually(() => stack.relay.logLines().filter((line) => line.msg === 'realtime').length >= 10);
    const sessions = stack.relay.logLines().filter((line) => line.msg === 'realtime');
    expect(sessions.find((line) => line.auth === 'subprotocol')).toMatchObject({ path: '/openai/v1/realtime', status: 101 });
    expect(sessions.find((line) => line.status === 401)).toMatchObject({ outcome: 'refused' });
    expect(sessions.find((line) => line.outcome === 'client_closed')).toBeDefined();
    expect(stack.relay.output()).not.toContain(stack.key);
    expect(stack.relay.output()).not.toContain(stack.token);
  });
});
