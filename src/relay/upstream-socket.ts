// A raw socket to the upstream for the Realtime handshake: direct, or through the outbound proxy's
// CONNECT tunnel (undici's connect), with TLS to the upstream inside it for https.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { proxyTunnelClient, type OutboundProxy } from './outbound-proxy.js';

function whenReady(socket: Socket, event: 'connect' | 'secureConnect'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function tunnel(proxy: OutboundProxy, hostPort: string, connectMs: number, signal: AbortSignal): Promise<Socket> {
  const client = proxyTunnelClient(proxy.url.origin, connectMs, { connect: { timeout: connectMs } });
  try {
    const headers: Record<string, string> = { host: hostPort };
    if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
    const { socket, statusCode } = await client.connect({ origin: proxy.url.origin, path: hostPort, headers, signal });
    if (statusCode !== 200) {
      socket.destroy();
      // Worded as undici's own refusal, which describeProxyFailure reads.
      throw new Error(`Proxy response (${statusCode}) !== 200 when HTTP Tunneling`);
    }
    return socket as Socket;
  } finally {
    void client.close();
  }
}

/** Resolves once the socket can carry the upgrade request; `signal` gives up on the way, the proxy has `connectMs` to open its tunnel. */
export async function openUpstreamSocket(origin: URL, proxy: OutboundProxy | undefined, connectMs: number, signal: AbortSignal): Promise<Socket> {
  const secure = origin.protocol === 'https:';
  const port = Number(origin.port) || (secure ? 443 : 80);
  const hostname = origin.hostname.replace(/^\[(.+)\]$/, '$1');
  const tls = { servername: isIP(hostname) ? undefined : hostname, ALPNProtocols: ['http/1.1'] };
  if (proxy === undefined) {
    const socket = secure ? tlsConnect({ host: hostname, port, ...tls }) : netConnect({ host: hostname, port });
    signal.addEventListener('abort', () => socket.destroy(), { once: true });
    return whenReady(socket, secure ? 'secureConnect' : 'connect');
  }
  const tunnelled = await tunnel(proxy, `${origin.hostname}:${port}`, connectMs, signal);
  if (!secure) return tunnelled;
  const socket = tlsConnect({ socket: tunnelled, ...tls });
  signal.addEventListener('abort', () => socket.destroy(), { once: true });
  return whenReady(socket, 'secureConnect');
}
