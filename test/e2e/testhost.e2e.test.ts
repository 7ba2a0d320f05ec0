// Proves the e2e harness itself: disposable hosts behave like a fresh VPS reachable over SSH, the
// offline Node base image works, and pebble issues certificates the way Let's Encrypt would.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPebble, type Pebble } from './harness/pebble.js';
import { docker, run } from './harness/run.js';
import { ensureNodeBaseImage, hostKeyFingerprint, sshArgs, startTestHost, type TestHost } from './harness/testhost.js';

const BOOT = 600_000; // first run builds the host image (debootstrap ~1 min)
const APT = 300_000;

const ssh = (host: TestHost, cmd: string) =>
  run('ssh', [...sshArgs(host), `${host.user}@${host.sshHost}`, cmd], { timeoutMs: 30_000, allowFailure: true });

async function keyscan(host: TestHost): Promise<string> {
  const scan = await run('ssh-keyscan', ['-T', '10', '-t', 'ed25519', '-p', String(host.sshPort), host.sshHost], { timeoutMs: 20_000 });
  const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], { input: scan.stdout });
  return fp.stdout.split(' ')[1] ?? '';
}

describe('a disposable test host', () => {
  let a: TestHost | undefined;
  let b: TestHost | undefined;

  beforeAll(async () => {
    a = await startTestHost({ name: 'a' }); // builds the image on a cold cache
    b = await startTestHost({ name: 'b' });
  }, BOOT);
  afterAll(async () => {
    await Promise.all([a?.destroy(), b?.destroy()]);
  }, 60_000);

  it('lets ops log in with the test key and sudo without a password', async () => {
    const r = await ssh(a!, 'sudo -n true && id -un');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ops');
    expect(r.exitCode).toBe(0);
  });

  it('has a host key of its own', async () => {
    const [fa, fb] = [await keyscan(a!), await keyscan(b!)];
    expect(fa).toMatch(/^SHA256:/);
    expect(fa).not.toBe(fb);
    expect(fa).toBe(await hostKeyFingerprint(a!));
  });

  it('reaches this machine at its gateway', async () => {
    const server: Server = createServer((_req, res) => res.end('hello from the test machine'));
    await new Promise<void>((resolve) => server.listen(0, a!.gateway, resolve));
    try {
      const { port } = server.address() as { port: number };
      const r = await a!.exec(`curl -fsS --max-time 10 http://${a!.gateway}:${port}/`);
      expect(r.stdout).toBe('hello from the test machine');
    } finally {
      server.close();
    }
  });

  it('updates its package lists from Debian', async () => {
    const r = await a!.exec('timeout 240 apt-get update', { timeoutMs: APT });
    expect(r.exitCode, r.stderr).toBe(0);
  }, APT);
});

describe('the offline Node 24 base image', () => {
  let host: TestHost | undefined;
  afterAll(async () => {
    await host?.destroy();
    await docker(['rmi', '-f', 'relay-e2e/node-smoke:test'], { allowFailure: true });
  }, 60_000);

  it('runs a server and a HEALTHCHECK built FROM it', async () => {
    const base = await ensureNodeBaseImage();
    const dockerfile = [
      `FROM ${base}`,
      `RUN echo 'require("node:http").createServer((q, s) => s.end("ok")).listen(8080)' > /app/relay-server.js`,
      `HEALTHCHECK --interval=1s CMD ["node", "-e", "fetch('http://127.0.0.1:8080').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]`,
      `CMD ["node", "/app/relay-server.js"]`,
    ].join('\n');
    await docker(['build', '-q', '-t', 'relay-e2e/node-smoke:test', '-'], { input: dockerfile, timeoutMs: 120_000 });
    const id = (await docker(['run', '-d', '--rm', '--network', 'none', 'relay-e2e/node-smoke:test'])).stdout.trim();
    try {
      await expect
        .poll(async () => (await docker(['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim(), { timeout: 30_000, interval: 1_000 })
        .toBe('healthy');
    } finally {
      await docker(['rm', '-f', id], { allowFailure: true });
    }
  }, 300_000);

  it('loads into a host’s own Docker engine', async () => {
    host = await startTestHost({ name: 'docker' });
    const install = await host.exec('apt-get update -q && apt-get install -y -q docker.io', { timeoutMs: APT });
    expect(install.exitCode, install.stderr).toBe(0);
    await host.loadImage(await ensureNodeBaseImage());
    const r = await host.exec('docker run --rm relay-e2e/node24:base node -p process.version', { timeoutMs: 60_000 });
    expect(r.stdout.trim()).toMatch(/^v24\./);
  }, 600_000);
});

describe('pebble as Let’s Encrypt', () => {
  const domain = 'relay.e2e.test';
  let host: TestHost | undefined;
  let pebble: Pebble | undefined;

  beforeAll(async () => {
    host = await startTestHost({ name: 'acme' });
    pebble = await startPebble({ httpPort: host.httpPort, gateway: host.gateway, tlsPort: host.httpsPort });
    await pebble.addA(domain, '127.0.0.1'); // pebble reaches the host through its published :80
  }, BOOT);
  afterAll(async () => {
    await Promise.all([host?.destroy(), pebble?.stop()]);
  }, 60_000);

  it('issues a certificate with certbot through nginx’s webroot', async () => {
    const trust = await host!.exec(
      'cat > /usr/local/share/ca-certificates/relay-e2e-pebble.crt && update-ca-certificates',
      { input: pebble!.caCertPem },
    );
    expect(trust.exitCode, trust.stderr).toBe(0);
    const install = await host!.exec('apt-get update -q && apt-get install -y -q certbot nginx', { timeoutMs: APT });
    expect(install.exitCode, install.stderr).toBe(0);

    const certbot = await host!.exec(
      `certbot certonly --webroot -w /var/www/html -d ${domain} --server ${pebble!.directoryUrl} ` +
        '--non-interactive --agree-tos -m ops@example.com --no-eff-email',
      { timeoutMs: 180_000 },
    );
    expect(certbot.exitCode, `${certbot.stdout}${certbot.stderr}\n${pebble!.logs()}`).toBe(0);

    // The served chain must lead to pebble's issuing root, which is new at every start.
    await host!.exec('cat > /tmp/pebble-root.pem', { input: await pebble!.issuingRoot() });
    const live = `/etc/letsencrypt/live/${domain}`;
    const verify = await host!.exec(`openssl verify -CAfile /tmp/pebble-root.pem -untrusted ${live}/chain.pem ${live}/cert.pem`);
    expect(verify.stdout.trim(), verify.stderr).toBe(`${live}/cert.pem: OK`);
  }, 600_000);
});
