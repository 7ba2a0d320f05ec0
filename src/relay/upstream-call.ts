// Calls the relay makes on its own behalf (filtered model lists, the Ollama emulation), through
// the same undici dispatcher as the proxy: one HTTP client, one connection pool, one set of timeouts.
import type { Dispatcher } from 'undici';
import type { Upstream } from './config.js';
import { accountHeaders, type UpstreamCredentials } from './headers.js';
import { describeProxyFailure, OutboundProxyFailure } from './outbound-proxy.js';

export interface UpstreamCaller {
  /**
   * `path` starts with /v1/; a body is sent as JSON. `authorization`: what goes upstream instead of
   * the server key (a passthrough caller's own, see access-mode.ts). Rejects with an
   * OutboundProxyFailure when the outbound proxy refused or could not be reached.
   */
  call(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, authorization?: string): Promise<Dispatcher.ResponseData>;
  /** Reads a JSON answer; `json` is undefined when the body is not JSON. */
  json(path: string, signal?: AbortSignal, authorization?: string): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; json: unknown }>;
}

export function createUpstreamCaller(upstream: Upstream, credentials: UpstreamCredentials, dispatcher: Dispatcher): UpstreamCaller {
  const account = accountHeaders(credentials);
  const { proxy } = upstream;
  // The server's organization and project go with the server key only.
  const call: UpstreamCaller['call'] = (method, path, body, signal, authorization) =>
    dispatcher
      .request({
        origin: upstream.origin,
        path: upstream.basePath + path,
        method,
        headers: {
          ...(authorization === undefined ? account : {}),
          authorization: authorization ?? `Bearer ${credentials.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal,
      })
      .catch((error: Error) => {
        const failure = proxy && describeProxyFailure(proxy, error);
        throw failure ? new OutboundProxyFailure(failure.message, failure.code) : error;
      });
  return {
    call,
    async json(path, signal, authorization) {
      const answer = await call('GET', path, undefined, signal, authorization);
      const text = await answer.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: answer.statusCode, headers: answer.headers, json };
    },
  };
}

/** The message of an OpenAI-shaped error body, if it is one. */
export function upstreamErrorMessage(json: unknown): string | undefined {
  const message = (json as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? message : undefined;
}
