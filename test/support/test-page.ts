// A web page served from loopback that loads test/browsers/page/clients.ts, bundled by esbuild
// with the client libraries, as a web app would ship them.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('../browsers/page/clients.ts', import.meta.url));
const HTML = '<!doctype html><meta charset="utf-8"><title>relay clients</title><script type="module" src="/clients.js"></script>';

export async function bundleClients(): Promise<string> {
  const result = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'error' });
  return result.outputFiles[0]!.text;
}

export interface TestPage {
  origin: string;
  close(): Promise<void>;
}

export async function serveTestPage(script: string): Promise<TestPage> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/clients.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(HTML);
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
