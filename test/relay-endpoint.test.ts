// Requests from the operator's machine to the relay: a token never travels over TLS that was not
// verified (issue 15, point 11: `--staging` certificates are untrusted by design).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../src/shared/errors.js';
import { endpointAgent, probe, streamedCompletion, type RelayEndpoint } from '../src/relay-endpoint.js';

const TOKEN = 'relay-token-SENTINEL-5e1f';
let server: Server;
const seen: Array<{ path: string; authorization?: string }> = [];
let endpoint: RelayEndpoint;

beforeAll(async () => {
  server = createServer({ cert: readFileSync('test/support/tls/localhost.crt'), key: readFileSync('test/support/tls/localhost.key') }, (req, res) => {
    seen.push({ path: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('data: {"choices":[]}\n\ndata: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The certificate is not trusted here: as with a Let's Encrypt staging certificate.
  endpoint = { origin: `https://localhost:${(server.address() as AddressInfo).port}`, address: '127.0.0.1', insecure: true };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('an endpoint whose certificate is not verified (--staging)', () => {
  it('answers a request without a token, such as /health', async () => {
    const agent = endpointAgent(endpoint);
    try {
      expect((await probe(endpoint, '/health', undefined, agent)).status).toBe(200);
    } finally {
      await agent.close();
    }
  });

  it('is never sent the token: the request is refused before it is made', async () => {
    const before = seen.length;
    const agent = endpointAgent(endpoint);
    try {
      await expect(probe(endpoint, '/v1/models', TOKEN, agent)).rejects.toThrow(RelayError);
      await expect(streamedCompletion(endpoint, TOKEN, 'gpt-4o-mini', agent)).rejects.toThrow(/not sent over TLS that is not verified/);
    } finally {
      await agent.close();
    }
    expect(seen.slice(before)).toEqual([]);
    expect(JSON.stringify(seen)).not.toContain(TOKEN);
  });
});
