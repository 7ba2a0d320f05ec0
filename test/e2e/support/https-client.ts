// A client on this machine that reaches https://<domain> the way a user's would once DNS points at
// the host: the name resolves to the host's address, and only the given root is trusted (no
// system CAs, no certificate checks switched off).
import type { LookupAddress, LookupOptions } from 'node:dns';
import { connect, type PeerCertificate } from 'node:tls';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';

export interface HttpsClient {
  /** fetch for https://<domain>/... (undici's, with this client's connections). */
  fetch: typeof fetch;
  /** The official openai SDK against https://<domain>/v1 with `token`; no retries, so failures show. */
  openai(token: string): OpenAI;
  close(): Promise<void>;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/tls that knows one name, like an /etc/hosts line. */
export function hostsEntry(domain: string, address: string) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    if (hostname !== domain) {
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname} (this test client knows only ${domain})`);
      error.code = 'ENOTFOUND';
      callback(error, '');
    } else if (options?.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  };
}

export function httpsClient(opts: { domain: string; address: string; ca: string }): HttpsClient {
  const agent = new Agent({ connect: { ca: opts.ca, servername: opts.domain, lookup: hostsEntry(opts.domain, opts.address) } });
  const viaAgent = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof fetch;
  return {
    fetch: viaAgent,
    openai: (token) => new OpenAI({ apiKey: token, baseURL: `https://${opts.domain}/v1`, maxRetries: 0, timeout: 30_000, fetch: viaAgent }),
    close: () => agent.close(),
  };
}

export interface ServedCertificate {
  /** True when the chain verified against the given root only and names the domain. */
  authorized: boolean;
  authorizationError?: string;
  protocol: string | null;
  certificate: PeerCertificate;
}

/** The certificate the server at address:443 presents for SNI `domain`, checked against `ca` only. */
export function servedCertificate(opts: { domain: string; address: string; ca: string; port?: number }): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.address, port: opts.port ?? 443, servername: opts.domain, ca: opts.ca, rejectUnauthorized: false, timeout: 10_000 });
    socket.once('secureConnect', () => {
      const result: ServedCertificate = {
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
        protocol: socket.getProtocol(),
        certificate: socket.getPeerCertificate(true),
      };
      socket.end();
      resolve(result);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`TLS to ${opts.address}:${opts.port ?? 443} timed out`));
    });
    socket.once('error', reject);
  });
}
