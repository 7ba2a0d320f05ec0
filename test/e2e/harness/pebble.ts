// Let's Encrypt without the internet: Debian's pebble (ACME CA) and pebble-challtestsrv (its fake
// DNS) on this machine. Test hosts reach pebble at their bridge gateway; pebble validates HTTP-01
// through loopback, at the 127.0.0.1 port where the host's :80 is published.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Agent, request } from 'undici';
import { run, sleep, waitFor } from './run.js';

export interface Pebble {
  /** ACME directory as reached from inside a test host: https://<gateway>:<port>/dir */
  directoryUrl: string;
  /** CA of pebble's own HTTPS listener: install it in the host's trust store. */
  caCertPem: string;
  /** challtestsrv's DNS server, "127.0.0.1:<port>": a resolver for this machine that knows `addA`'s names. */
  dnsServer: string;
  /** Makes challtestsrv's DNS answer `domain` with `ip` (127.0.0.1 = the published test host). */
  addA(domain: string, ip: string): Promise<void>;
  /** PEM of the root that signs issued certificates; new at every start. */
  issuingRoot(): Promise<string>;
  /** Recent output of both processes, for failure messages. */
  logs(): string;
  /** Stops both processes and removes their files; safe to call more than once. */
  stop(): Promise<void>;
}

export async function startPebble(opts: { httpPort: number; gateway: string; tlsPort?: number }): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-e2e-pebble-'));
  const procs: ResultPromise[] = [];
  const exited = new Set<ResultPromise>();
  const output: string[] = [];
  const stop = async () => {
    await Promise.all(procs.splice(0).map((p) => terminate(p, exited.has(p))));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const caCertPem = await makeCertificates(dir, opts.gateway);
    const acmePort = await freeTcpPort(opts.gateway);
    const mgmtPort = await freeTcpPort('127.0.0.1');
    const dnsPort = await freeDnsPort();
    const challMgmtPort = await freeTcpPort('127.0.0.1');
    // Trusts only our throwaway CA, for the readiness probe and the management API.
    const agent = new Agent({ connect: { ca: caCertPem } });

    await writeFile(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          // Bound to the gateway, not 0.0.0.0: only this machine and its containers can reach it.
          listenAddress: `${opts.gateway}:${acmePort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: join(dir, 'server.pem'),
          privateKey: join(dir, 'server.key'),
          httpPort: opts.httpPort,
          tlsPort: opts.tlsPort ?? 5001,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );

    const spawn = (file: string, args: string[], env: Record<string, string> = {}) => {
      const p = execa(file, args, { cwd: dir, env, reject: false, stdin: 'ignore', all: true, buffer: false });
      p.all?.on('data', (d: Buffer) => {
        output.push(...d.toString().trimEnd().split('\n').map((l) => `${file.split('/').at(-1)}: ${l}`));
        output.splice(0, Math.max(0, output.length - 200));
      });
      void p.then(() => exited.add(p));
      procs.push(p);
    };
    // Answers every name with 127.0.0.1 unless told otherwise; only DNS is needed, not its solvers.
    spawn('/usr/bin/pebble-challtestsrv', [
      '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
      '-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${challMgmtPort}`,
      '-http01', '', '-https01', '', '-tlsalpn01', '',
    ]);
    // No random sleeps before validation, and no random nonce rejections: tests stay fast and stable.
    spawn('/usr/bin/pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
    });

    const challtestsrv = `http://127.0.0.1:${challMgmtPort}`;
    const directoryUrl = `https://${opts.gateway}:${acmePort}/dir`;
    const get = async (url: string, dispatcher?: Agent) => {
      const res = await request(url, { dispatcher, headersTimeout: 5_000, bodyTimeout: 5_000 });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 200)}`);
      return body;
    };
    // Either process exiting during startup (a port taken, a bad config) fails at once, not at the deadline.
    const died = new Promise<never>((_, reject) => {
      for (const p of procs) void p.then((r) => reject(new Error(`${r.command} exited (${r.exitCode ?? r.signal})`)));
    });
    died.catch(() => undefined);
    await Promise.race([
      died,
      waitFor('pebble', 30_000, async () => {
        await get(directoryUrl, agent);
        // challtestsrv has no health endpoint; any HTTP answer means its management API is up.
        await request(`${challtestsrv}/`, { headersTimeout: 5_000 }).then((r) => r.body.dump());
        return true;
      }),
    ]);

    return {
      directoryUrl,
      caCertPem,
      dnsServer: `127.0.0.1:${dnsPort}`,
      addA: async (domain, ip) => {
        const res = await request(`${challtestsrv}/add-a`, {
          method: 'POST',
          body: JSON.stringify({ host: domain, addresses: [ip] }),
          headersTimeout: 5_000,
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`challtestsrv add-a ${domain}: HTTP ${res.statusCode}`);
      },
      issuingRoot: () => get(`https://127.0.0.1:${mgmtPort}/roots/0`, agent),
      logs: () => output.join('\n'),
      stop,
    };
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- pebble output ---\n${output.join('\n')}`;
    await stop();
    throw e;
  }
}

/** A throwaway CA and a server certificate for pebble's listener; returns the CA's PEM. */
async function makeCertificates(dir: string, gateway: string): Promise<string> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=relay-e2e pebble listener CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ], { cwd: dir });
  await run('openssl', ['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pebble'], { cwd: dir });
  await writeFile(
    join(dir, 'server.ext'),
    `subjectAltName=IP:${gateway},IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`,
  );
  await run('openssl', [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem',
  ], { cwd: dir });
  return readFile(join(dir, 'ca.pem'), 'utf8');
}

function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** challtestsrv's DNS listens on UDP and TCP: find a port free for both on 127.0.0.1. */
async function freeDnsPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeTcpPort('127.0.0.1');
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1');
}

async function terminate(p: ResultPromise, hasExited: boolean): Promise<void> {
  if (hasExited) return;
  p.kill('SIGTERM');
  const exited = await Promise.race([p.then(() => true), sleep(5_000).then(() => false)]);
  if (!exited) {
    p.kill('SIGKILL');
    await Promise.race([p, sleep(5_000)]);
  }
}
