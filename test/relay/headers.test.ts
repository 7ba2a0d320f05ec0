import { describe, expect, it } from 'vitest';
import { accountHeaders, clientResponseHeaders, isEventStream, upstreamRequestHeaders } from '../../src/relay/headers.js';

const server = { apiKey: 'sk-server', carriesToken: () => false };

describe('which answers are event streams', () => {
  it.each(['text/event-stream', 'Text/Event-Stream; charset=utf-8'])('%s is one', (contentType) => {
    expect(isEventStream(contentType)).toBe(true);
  });

  it.each([['application/json'], ['application/x-text/event-stream'], [undefined], [['text/event-stream']]])('%j is not', (contentType) => {
    expect(isEventStream(contentType)).toBe(false);
  });
});

describe('response headers a client sees', () => {
  it("drops the upstream's CORS headers: the relay's own policy answers for them", () => {
    const out = clientResponseHeaders({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'x-request-id',
      'x-request-id': 'req_1',
      'x-access-control-': 'kept',
    });
    expect(out).toEqual({ 'x-request-id': 'req_1', 'x-access-control-': 'kept' });
  });

  it('leaves a JSON answer as the upstream sent it, with no buffering hints', () => {
    const out = clientResponseHeaders({ 'content-type': 'application/json', 'cache-control': 'private' });
    expect(out).toEqual({ 'content-type': 'application/json', 'cache-control': 'private' });
  });

  it("keeps the upstream's own cache-control on an event stream", () => {
    const out = clientResponseHeaders({ 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  });

  it('drops the headers the upstream names in Connection', () => {
    const out = clientResponseHeaders({ connection: 'X-Upstream-Hop , x-other', 'x-upstream-hop': '1', 'x-other': '2', 'x-request-id': 'req_1' });
    expect(out).toEqual({ 'x-request-id': 'req_1' });
  });
});

describe('request headers the upstream sees', () => {
  it('drops the headers the client names in Connection, whatever their case and spacing', () => {
    const out = upstreamRequestHeaders({ connection: 'Upgrade,  X-Hop', upgrade: 'websocket', 'x-hop': '1', accept: '*/*' }, server);
    expect(out).toEqual({ accept: '*/*', authorization: 'Bearer sk-server' });
  });

  it('passes every end-to-end header when Connection names none', () => {
    for (const connection of [undefined, 'keep-alive', 'close']) {
      const out = upstreamRequestHeaders({ connection, accept: '*/*', 'x-custom': ['a', 'b'], 'x-absent': undefined }, server);
      expect(out).toStrictEqual({ accept: '*/*', 'x-custom': ['a', 'b'], authorization: 'Bearer sk-server' });
    }
  });

  it('drops every x-forwarded- header: client addresses stay private', () => {
    const out = upstreamRequestHeaders(
      { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'https', forwarded: 'for=198.51.100.1', 'x-forwarded': 'kept' },
      server,
    );
    expect(out).toEqual({ 'x-forwarded': 'kept', authorization: 'Bearer sk-server' });
  });

  it('drops a header whose values, taken together, hold a relay token', () => {
    const seen: string[] = [];
    const credentials = { apiKey: 'sk-server', carriesToken: (value: string) => (seen.push(value), value.includes('tok\nen')) };
    const out = upstreamRequestHeaders({ 'x-split': ['tok', 'en'], 'x-plain': 'tok' }, credentials);
    expect(out).toEqual({ 'x-plain': 'tok', authorization: 'Bearer sk-server' });
    expect(seen).toEqual(['tok\nen', 'tok']);
  });
});

describe('the account the server key bills', () => {
  it('sends only the organization and project that are set', () => {
    expect(accountHeaders(server)).toStrictEqual({});
    expect(accountHeaders({ ...server, organization: 'org-1' })).toStrictEqual({ 'openai-organization': 'org-1' });
    expect(accountHeaders({ ...server, project: 'proj_1' })).toStrictEqual({ 'openai-project': 'proj_1' });
  });
});
