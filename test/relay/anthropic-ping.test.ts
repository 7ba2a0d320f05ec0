// The Anthropic stream keeps a quiet connection alive: a ping event after each silence of pingMs
// (10 s in the relay; 50 ms here against the fake upstream's 200 ms pauses between chunks).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicApi } from '../../src/relay/anthropic/api.js';
import { parseAnthropicModels } from '../../src/relay/anthropic/models.js';
import { Exchange } from '../../src/relay/exchange.js';
import { parseUpstream } from '../../src/shared/upstream-url.js';
import { createUpstreamCaller } from '../../src/relay/upstream-call.js';
import { MODELS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';

let upstream: FakeOpenAI;
let server: Server;
const agent = new Agent();

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  const api = createAnthropicApi(createUpstreamCaller(parseUpstream(upstream.url), { apiKey: 'sk-test', carriesToken: () => false }, agent), {
    models: parseAnthropicModels(''),
    allowed: undefined,
    pingMs: 50,
  });
  server = createServer((req, res) => {
    const exchange = new Exchange(req, res);
    exchange.target = req.url ?? '';
    void api.handle(exchange);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await agent.close();
  await upstream?.close();
});

describe('Anthropic stream pings', () => {
  it("sends ping events during the upstream's silences, between the message's events", async () => {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODELS.paced, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'count' }] }),
    });
    const events = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((match) => match[1]);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    // Five chunks 200 ms apart: at least one ping in each of the four gaps.
    expect(events.filter((event) => event === 'ping').length).toBeGreaterThanOrEqual(4);
    expect(events.filter((event) => event === 'content_block_delta')).toHaveLength(5);
  });
});
