// Requests from the operator's machine to the deployed relay, through nginx, as a client would
// make them. Used to verify deploys, certificates and token rotations. One HTTP client: undici.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { RelayError } from './shared/errors.js';

export interface RelayEndpoint {
  /** https://relay.example.com or http://203.0.113.7 (no /v1). */
  origin: string;
  /** Connect to this address instead of resolving the origin's name (the host we provisioned). */
  address?: string;
  /** Extra CA to trust (PEM), for certificates from a private ACME server. */
  ca?: string;
  /** Skip certificate validation (Let's Encrypt staging certificates are untrusted by design). */
  insecure?: boolean;
}

export async function readCaFile(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new RelayError(`Cannot read --ca-file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

export function endpointAgent(endpoint: RelayEndpoint): Agent {
  const address = endpoint.address;
  const family = address === undefined ? 0 : isIP(address);
  return new Agent({
    connect: {
      ...(endpoint.ca ? { ca: endpoint.ca } : {}),
      ...(endpoint.insecure ? { rejectUnauthorized: false } : {}),
      // The certificate is checked against the origin's name; only the TCP target changes.
      ...(address && family ? { lookup: (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => (options.all ? callback(null, [{ address, family }]) : callback(null, address, family)) } : {}),
      timeout: 10_000,
    },
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
}

export interface ProbeResult {
  status: number;
  body: string;
}

/** An unverified certificate (Let's Encrypt staging) may be anyone's: the token is never sent to it. */
function refuseTokenOverUnverifiedTls(endpoint: RelayEndpoint, url: string): void {
  if (!endpoint.insecure) return;
  throw new RelayError(`The relay token is not sent over TLS that is not verified (${url}).`, {
    fix: 'A --staging certificate is checked with /health only; with a trusted certificate (run `relay cert` without --staging) the token check runs.',
  });
}

/** One request with a bearer token; network and TLS failures become RelayErrors that name the URL. */
export async function probe(endpoint: RelayEndpoint, path: string, token: string | undefined, dispatcher: Dispatcher): Promise<ProbeResult> {
  const url = `${endpoint.origin}${path}`;
  if (token !== undefined) refuseTokenOverUnverifiedTls(endpoint, url);
  try {
    const response = await request(url, { dispatcher, headers: token ? { authorization: `Bearer ${token}` } : {}, maxRedirections: 0 } as Parameters<typeof request>[1]);
    return { status: response.statusCode, body: await response.body.text() };
  } catch (error) {
    throw unreachable(url, endpoint, error);
  }
}

export interface StreamCheck {
  status: number;
  /** ms from sending the request to the first body chunk. */
  ttfbMs: number;
  totalMs: number;
  /** Server-sent events received (data: lines). */
  events: number;
  /** Distinct network reads that carried events: 1 for a stream of many events means something buffered. */
  reads: number;
}

/** A real streamed chat completion through nginx: proves SSE passes chunk by chunk. */
export async function streamedCompletion(endpoint: RelayEndpoint, token: string, model: string, dispatcher: Dispatcher): Promise<StreamCheck> {
  const url = `${endpoint.origin}/v1/chat/completions`;
  refuseTokenOverUnverifiedTls(endpoint, url);
  const started = performance.now();
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      dispatcher,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, max_tokens: 16, messages: [{ role: 'user', content: 'Count from 1 to 5.' }] }),
    });
  } catch (error) {
    throw unreachable(url, endpoint, error);
  }
  let ttfbMs = 0;
  let events = 0;
  let reads = 0;
  let text = '';
  for await (const chunk of response.body) {
    if (ttfbMs === 0) ttfbMs = performance.now() - started;
    const piece = chunk.toString('utf8');
    const count = piece.split('\n').filter((line: string) => line.startsWith('data:')).length;
    if (count > 0) reads++;
    events += count;
    if (text.length < 2_000) text += piece;
  }
  if (response.statusCode !== 200) {
    throw new RelayError(`The streamed test request through nginx answered ${response.statusCode}: ${text.slice(0, 300)}`, {
      fix: response.statusCode === 404 || response.statusCode === 400 ? 'Pass --verify-model with a model your key can use, or --no-verify.' : 'Run `relay logs -n 50` to see what the relay got back.',
    });
  }
  return { status: response.statusCode, ttfbMs, totalMs: performance.now() - started, events, reads };
}

function unreachable(url: string, endpoint: RelayEndpoint, error: unknown): RelayError {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  const via = endpoint.address ? ` (at ${endpoint.address})` : '';
  const tls = code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS/.test(code);
  return new RelayError(`Could not reach ${url}${via}: ${code ?? String(error)}`, {
    fix: tls
      ? 'The certificate is not trusted here: for a private ACME server pass --ca-file with its root.'
      : 'Check that ports 80 and 443 of the host are open to the internet (cloud firewall / security group, ufw).',
    cause: error,
  });
}
