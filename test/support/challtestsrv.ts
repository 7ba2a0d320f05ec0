// A real DNS server for tests: Debian's pebble-challtestsrv, with records set over its API.
import { spawn } from 'node:child_process';
import { freePort } from './free-port.js';

export interface TestDns {
  /** "127.0.0.1:port", for a resolver's setServers or --resolver. */
  server: string;
  setA(host: string, addresses: string[]): Promise<void>;
  setAAAA(host: string, addresses: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDns(): Promise<TestDns> {
  const [dnsPort, managementPort] = [await freePort(), await freePort()];
  const child = spawn(
    'pebble-challtestsrv',
    ['-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${managementPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv4', '', '-defaultIPv6', ''],
    { stdio: 'ignore' },
  );
  const api = `http://127.0.0.1:${managementPort}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`${api}/`, { method: 'GET' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('pebble-challtestsrv did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${api}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`challtestsrv ${path}: ${response.status}`);
  };
  return {
    server: `127.0.0.1:${dnsPort}`,
    setA: (host, addresses) => post('/add-a', { host: `${host}.`, addresses }),
    setAAAA: (host, addresses) => post('/add-aaaa', { host: `${host}.`, addresses }),
    stop: async () => {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
