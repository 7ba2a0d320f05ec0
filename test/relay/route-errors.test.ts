// Each route says no in its own API's shape (routes.ts `errors`), so the client's SDK reads the
// relay's own failure like any other error of that API: OpenAI's, Anthropic's, Ollama's {"error": "..."}.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnthropicApi } from '../../src/relay/anthropic/api.js';
import type { RelayConfig } from '../../src/relay/config.js';
import type { OllamaApi } from '../../src/relay/ollama/api.js';
import { relayRoutes, type RouteParts } from '../../src/relay/routes.js';

// Only the routes' `errors` are used here: the parts behind their handlers are never reached.
const routes = relayRoutes({
  config: { pathPrefix: '' } as RelayConfig,
  ollama: {} as OllamaApi,
  anthropic: {} as AnthropicApi,
} as RouteParts);
const route = (name: string) => routes.find((entry) => entry.name.includes(name))!;

let server: Server;
let failing = route('OpenAI');

beforeAll(async () => {
  server = createServer((_req, res) => failing.errors.failed(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise((resolve) => server?.close(resolve)));

async function failedAnswer(name: string): Promise<{ status: number; body: unknown }> {
  failing = route(name);
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return { status: response.status, body: await response.json() };
}

describe("the relay's own failure (500), in the route's API shape", () => {
  it('OpenAI', async () => {
    expect(await failedAnswer('OpenAI')).toMatchObject({ status: 500, body: { error: { type: 'relay_error', code: 'internal_error' } } });
  });

  it('Anthropic', async () => {
    expect(await failedAnswer('Anthropic')).toMatchObject({ status: 500, body: { type: 'error', error: { type: 'api_error' } } });
  });

  it('Ollama: {"error": "..."}, the one shape Ollama clients read', async () => {
    expect(await failedAnswer('Ollama')).toEqual({ status: 500, body: { error: expect.any(String) } });
  });
});
