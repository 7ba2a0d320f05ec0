// `relay init`, `relay logs -f` and `relay rotate-token` as a user runs them (issue 4), against a
// disposable fresh Debian host that has an address of its own (127.0.0.2, ports 22/80/443) and a
// domain pointing at it. Pebble stands in for Let's Encrypt and challtestsrv for DNS; a fake OpenAI
// upstream on this machine answers. The client side is the official openai SDK over HTTPS,
// trusting only pebble's root. A sentinel key must never show up in any output or log, and the
// other lines of .env.local must never reach the host. The host starts as VPS providers ship them
// (issue 15, points 17 and 18): needrestart installed, and ufw active allowing SSH only.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickEnvValue } from '../../src/shared/env-local.js';
import { DOCKER_KEY_FINGERPRINT, keyFingerprintCheck } from '../../src/plan/install-plan.js';
import { sha256Hex } from '../../src/shared/tokens-file.js';
import { tokenFingerprint } from '../../src/shared/token.js';
import { MODELS, PACE_MS, PACED_CHUNKS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { startPebble, type Pebble } from './harness/pebble.js';
import { sleep } from './harness/run.js';
import { ensureNodeBaseImage, startTestHost, type TestHost } from './harness/testhost.js';
import { relayCli, shown, type RelayCli } from './support/cli.js';
import WebSocket from 'ws';
import { hostsEntry, httpsClient, servedCertificate, type HttpsClient } from './support/https-client.js';

const DOMAIN = 'relay.test';
/** The host's own address: its 22/80/443 are published here, and DNS for DOMAIN points here. */
const ADDRESS = '127.0.0.2';
const KEY = `sk-e2e-SENTINEL-${randomBytes(8).toString('hex')}`;
const OTHER_VALUE = `other-SENTINEL-${randomBytes(8).toString('hex')}`;

let host: TestHost;
let pebble: Pebble;
let upstream: FakeOpenAI;
let cli: RelayCli;
let client: HttpsClient;
let work: string;
let nodeImage: string;
/** pebble's issuing root: what a user's machine would already trust for Let's Encrypt. */
let root: string;
let caFile: string;
let envFile: string;

/** Everything `relay init` needs, the same both times. */
function initArgs(): string[] {
  return [
    'init', '--host', `ops@${ADDRESS}`, '-i', host.identityFile, '--accept-new-host-key', '--yes',
    '--domain', DOMAIN, '--email', `ops@${DOMAIN}`,
    '--acme-server', pebble.directoryUrl, '--resolver', pebble.dnsServer, '--ca-file', caFile,
    '--docker-source', 'distro', '--base-image', nodeImage,
    '--openai-base-url', upstream.url, '--env-file', envFile, '--verify-model', 'gpt-fake',
    '--generate', 'RELAY_METRICS_TOKEN',
  ];
}

async function onHost(cmd: string): Promise<string> {
  const r = await host.exec(cmd);
  if (r.exitCode !== 0) throw new Error(`on host: ${cmd}: exit ${r.exitCode}\n${r.stderr}`);
  return r.stdout;
}

/** The token as the user has it: RELAY_TOKEN in their .env.local. */
async function localToken(): Promise<string> {
  const token = pickEnvValue(await readFile(envFile, 'utf8'), 'RELAY_TOKEN');
  if (!token) throw new Error(`no RELAY_TOKEN in ${envFile}`);
  return token;
}

/** Test-side only: the hash the host keeps of RELAY_TOKEN, its registry's "default", read as root. */
async function hostTokenHash(): Promise<string | undefined> {
  const registry = JSON.parse(await onHost('cat /opt/relay/tokens.json')) as { tokens: Array<{ name: string; sha256: string }> };
  return registry.tokens.find((entry) => entry.name === 'default')?.sha256;
}

/** A paced streamed chat completion through nginx over HTTPS; when each content chunk arrived. */
async function streamPaced(token: string): Promise<{ parts: string[]; arrivals: number[] }> {
  const stream = await client.openai(token).chat.completions.create({
    model: MODELS.paced, stream: true, messages: [{ role: 'user', content: 'count' }],
  });
  const parts: string[] = [];
  const arrivals: number[] = [];
  for await (const event of stream) {
    const content = event.choices[0]?.delta.content;
    if (content) {
      arrivals.push(Date.now());
      parts.push(content);
    }
  }
  return { parts, arrivals };
}

/** Status of GET /v1/models over HTTPS with `token`. */
async function modelsStatus(token: string): Promise<number> {
  const res = await client.fetch(`https://${DOMAIN}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** A plain-HTTP request to the host's :80 for DOMAIN, redirects not followed. */
function plainHttp(path: string, timeoutMs = 10_000): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: ADDRESS, port: 80, path, headers: { host: DOMAIN }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`GET http://${ADDRESS}${path} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/** `openssl s_client` from this machine against the published 443, as any TLS client would connect. */
function sClient(args: string[]): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `${ADDRESS}:443`, '-servername', DOMAIN, '-CAfile', caFile, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ exitCode: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

beforeAll(async () => {
  [host, nodeImage] = await Promise.all([startTestHost({ name: 'tls', address: ADDRESS }), ensureNodeBaseImage()]);
  // Pebble validates HTTP-01 at <DNS answer>:80, which is the host's own port 80.
  pebble = await startPebble({ httpPort: 80, gateway: host.gateway });
  await pebble.addA(DOMAIN, ADDRESS);
  // certbot on the host trusts pebble's ACME listener only from the second test on: the first init
  // stops at the CA, between deploy and certificate.
  root = await pebble.issuingRoot();
  upstream = await startFakeOpenAI(host.gateway);
  client = httpsClient({ domain: DOMAIN, address: ADDRESS, ca: root });

  work = await mkdtemp(join(tmpdir(), 'relay-e2e-project-'));
  caFile = join(work, 'pebble-root.pem');
  envFile = join(work, '.env.local');
  await writeFile(caFile, root);
  await writeFile(envFile, `# the operator's own file\nOTHER_SECRET=${OTHER_VALUE}\nOPENAI_API_KEY=${KEY}\n`);
  cli = await relayCli(work);

  // As on Ubuntu 22.04+ provider images: needrestart (whose prompts can stall apt) and ufw.
  const provider = await host.exec('apt-get update -q && apt-get install -y -q needrestart ufw', { timeoutMs: 600_000 });
  expect(provider.exitCode, provider.stderr).toBe(0);

  // The node base image cannot be pulled here: install Docker first, then load the image into it.
  const install = await cli.run(['install', '--host', `ops@${ADDRESS}`, '-i', host.identityFile, '--accept-new-host-key', '--yes', '--docker-source', 'distro']);
  expect(install.exitCode, shown(install)).toBe(0);
  await host.loadImage(nodeImage);

  // Then the firewall as such images ship it: active, SSH only. Port 80 no longer answers from here.
  const ufw = await host.exec('ufw allow 22/tcp && ufw --force enable && ufw status');
  expect(ufw.exitCode, ufw.stderr).toBe(0);
  expect(ufw.stdout).toContain('Status: active');
  await expect(plainHttp('/', 3_000)).rejects.toThrow();
}, 1_200_000);

afterAll(async () => {
  await client?.close();
  await cli?.close();
  await upstream?.close();
  await pebble?.stop();
  await host?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

describe('relay init while the CA cannot be reached', () => {
  it('opens ufw for 80/443 only, passes the port-80 preflight through it, and stops at the CA', async () => {
    const r = await cli.run(initArgs(), 900_000);
    expect(r.exitCode, shown(r)).not.toBe(0);
    expect(r.stdout).toMatch(/✓ Allow 80,443\/tcp in ufw when it is active \(other rules untouched\) \(changed\)/);
    expect(r.stdout).toContain(`DNS of ${DOMAIN} points here and port 80 answers`);
    expect(r.stdout).toMatch(/✗ Obtain a certificate for relay\.test/);
    // ufw is still on, with SSH as it was and 80,443/tcp added: nothing else.
    const status = await onHost('ufw status');
    expect(status).toContain('Status: active');
    const rules = status.split('\n').filter((line) => /\bALLOW\b/.test(line)).map((line) => line.replace(/\s{2,}/g, ' ').trim());
    expect(rules).toEqual(['22/tcp ALLOW Anywhere', '80,443/tcp ALLOW Anywhere # relay', '22/tcp (v6) ALLOW Anywhere (v6)', '80,443/tcp (v6) ALLOW Anywhere (v6) # relay']);
    // The apt steps ran with needrestart installed and never waited on it.
    expect(await onHost("dpkg-query -W -f='${Status}' needrestart")).toBe('install ok installed');
  }, 900_000);

  it('meanwhile serves only ACME challenges and /health on port 80: /v1 is refused, the token never sent', async () => {
    expect((await plainHttp('/health')).status).toBe(200);
    const api = await plainHttp('/v1/models');
    expect(api.status).toBe(503);
    expect(api.body).toContain('the API is served over HTTPS only');
    await onHost('echo challenge-ok > /var/www/relay-acme/.well-known/acme-challenge/probe-e2e 2>/dev/null || { mkdir -p /var/www/relay-acme/.well-known/acme-challenge && echo challenge-ok > /var/www/relay-acme/.well-known/acme-challenge/probe-e2e; }');
    const challenge = await plainHttp('/.well-known/acme-challenge/probe-e2e');
    expect([challenge.status, challenge.body]).toEqual([200, 'challenge-ok\n']);
    await onHost('rm -f /var/www/relay-acme/.well-known/acme-challenge/probe-e2e');
    // From here on certbot on the host trusts pebble's ACME listener, as it trusts Let's Encrypt's.
    const trust = await host.exec('cat > /usr/local/share/ca-certificates/pebble-acme.crt && update-ca-certificates', { input: pebble.caCertPem });
    expect(trust.exitCode, trust.stderr).toBe(0);
  });
});

describe('relay init on a fresh host with a domain', () => {
  let initToken: string;

  it('goes from installed host to a verified HTTPS relay, step by step, and says what to paste next', async () => {
    const r = await cli.run(initArgs(), 900_000);
    expect(r.exitCode, `${shown(r)}\n--- pebble ---\n${pebble.logs()}`).toBe(0);
    expect(r.stdout).toMatch(/✓ .+ \((changed|unchanged)\) \d+(\.\d+)?m?s/);
    expect(r.stdout).toMatch(/Done in (\d+m)?\d+(\.\d+)?m?s/);
    expect(r.stdout).toContain(`Base URL: https://${DOMAIN}/v1`);
    expect(r.stdout).toContain(`OPENAI_REVERSE_PROXY=https://${DOMAIN}/v1`);
    expect(r.stdout).toMatch(new RegExp(`OPENAI_API_BASE_URL=https://${DOMAIN.replace('.', '\\.')}/v1`));
    expect(r.stdout).toMatch(/openai/i);
    expect(r.stdout).toContain(`curl`);

    // Not a TTY: the token went to .env.local, and only its fingerprint to the screen.
    initToken = await localToken();
    expect(await hostTokenHash()).toBe(sha256Hex(initToken));
    expect(await onHost('cat /opt/relay/.env')).not.toContain(initToken);
    expect(r.stdout + r.stderr).not.toContain(initToken);
    expect(r.stdout).toContain(tokenFingerprint(initToken));
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    // The operator's other lines are still there.
    expect(pickEnvValue(await readFile(envFile, 'utf8'), 'OTHER_SECRET')).toBe(OTHER_VALUE);
  }, 900_000);

  it('serves a certificate for the domain that chains to the ACME CA’s root', async () => {
    const served = await servedCertificate({ domain: DOMAIN, address: ADDRESS, ca: root });
    expect(served.authorizationError).toBeUndefined();
    expect(served.authorized).toBe(true);
    expect(served.certificate.subjectaltname).toContain(`DNS:${DOMAIN}`);
    expect(served.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const res = await plainHttp('/v1/models');
    expect([301, 308]).toContain(res.status);
    expect(res.location).toBe(`https://${DOMAIN}/v1/models`);
  });

  it("refuses AES128-SHA (Mozilla's intermediate profile) and lets a modern client in", async () => {
    // certbot's key is ECDSA, which rules out AES128-SHA's RSA key exchange by itself; the CBC-SHA1
    // suites an ECDSA key allows must be refused by the cipher list.
    for (const cipher of ['AES128-SHA', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA']) {
      const legacy = await sClient(['-tls1_2', '-cipher', `${cipher}@SECLEVEL=0`]);
      expect(legacy.exitCode, `${cipher}: ${legacy.output}`).not.toBe(0);
      expect(legacy.output).toMatch(/handshake failure|no cipher|alert/i);
    }
    const modern = await sClient([]);
    expect(modern.exitCode, modern.output).toBe(0);
    expect(modern.output).toContain('Verify return code: 0 (ok)');
    expect(modern.output).toMatch(/New, TLSv1\.3, Cipher is TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256)/);
    const tls12 = await sClient(['-tls1_2']);
    expect(tls12.exitCode, tls12.output).toBe(0);
    expect(tls12.output).toMatch(/Cipher is ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
  });

  it("checks Docker's apt key by fingerprint with the host's own gpg: another key is refused", async () => {
    await onHost("export GNUPGHOME=$(mktemp -d) && gpg --batch --pinentry-mode loopback --passphrase '' --quick-generate-key 'not docker <x@relay.test>' ed25519 sign never 2>/dev/null && gpg --armor --export > /tmp/other-key.asc");
    const fingerprint = (await onHost("gpg --batch --homedir $(mktemp -d) --show-keys --with-colons /tmp/other-key.asc | awk -F: '$1 == \"fpr\" { print $10; exit }'")).trim();
    expect((await host.exec(keyFingerprintCheck('/tmp/other-key.asc', DOCKER_KEY_FINGERPRINT))).exitCode).not.toBe(0);
    expect((await host.exec(keyFingerprintCheck('/tmp/other-key.asc', fingerprint))).exitCode).toBe(0);
  });

  it('serves /metrics for the RELAY_METRICS_TOKEN init generated and saved, never passed in argv', async () => {
    const metricsToken = pickEnvValue(await readFile(envFile, 'utf8'), 'RELAY_METRICS_TOKEN')!;
    expect(metricsToken).toMatch(/^[0-9a-f]{64}$/);
    expect((await onHost("sed -n 's/^RELAY_METRICS_TOKEN=//p' /opt/relay/.env")).trim()).toBe(metricsToken);
    expect(cli.transcript()).not.toContain(metricsToken);
    const res = await client.fetch(`https://${DOMAIN}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('relay_');
  });

  it('renews: relay cert --renew-dry-run rehearses it against the same CA, with the nginx reload hook', async () => {
    const r = await cli.run(['cert', '--renew-dry-run', '-i', host.identityFile], 180_000);
    expect(r.exitCode, shown(r)).toBe(0);
    expect(r.stdout).toContain('renewal of relay.test works');
    expect(r.stdout + r.stderr).toContain('Congratulations, all simulated renewals succeeded');
    // The rehearsal went to pebble (the certificate's own CA), not to Let's Encrypt's staging.
    expect(r.stdout + r.stderr).not.toContain('acme-staging');
    expect(await onHost('test -x /etc/letsencrypt/renewal-hooks/deploy/relay-reload-nginx && echo hook')).toBe('hook\n');
  });
});

describe('a client that trusts the ACME root', () => {
  it('streams a chat completion over HTTPS through nginx, each chunk as it is produced', async () => {
    const { parts, arrivals } = await streamPaced(await localToken());
    expect(parts).toEqual(Array.from({ length: PACED_CHUNKS }, (_, i) => `part${i} `));
    // Chunk i reached the client before the upstream even wrote chunk i+1: nothing buffers.
    for (let i = 0; i < PACED_CHUNKS - 1; i++) expect(arrivals[i]).toBeLessThan(upstream.chunkSentAt[i + 1]!);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual((PACED_CHUNKS - 2) * PACE_MS);
  });

  it('is refused without the relay token', async () => {
    expect(await modelsStatus('not-the-token')).toBe(401);
  });

  it('holds a Realtime WebSocket session through nginx, with the server key upstream', async () => {
    const token = await localToken();
    // ws hands TLS options (servername, lookup) to tls.connect.
    const options: WebSocket.ClientOptions & ConnectionOptions = {
      headers: { authorization: `Bearer ${token}` },
      ca: root,
      servername: DOMAIN,
      lookup: hostsEntry(DOMAIN, ADDRESS) as unknown as ConnectionOptions['lookup'],
    };
    const ws = new WebSocket(`wss://${DOMAIN}/v1/realtime?model=gpt-realtime`, options);
    const messages: string[] = [];
    // One listener at a time: each frame is awaited before the next is asked for.
    const next = () => new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    expect(JSON.parse(await next()).type).toBe('session.created');
    ws.send(JSON.stringify({ type: 'ping.test', n: 1 }));
    messages.push(await next());
    expect(JSON.parse(messages[0]!)).toEqual({ type: 'echo', event: { type: 'ping.test', n: 1 } });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ type: 'test.close', code: 4001, reason: 'done' }));
    expect(await closed).toBe(4001);
    const session = upstream.realtime.at(-1)!;
    expect(session.headers.authorization).toBe(`Bearer ${KEY}`);
  });
});

describe('relay logs -f', () => {
  it('shows a request while following, within seconds of it ending, and stops on Ctrl-C', async () => {
    const logs = cli.follow(['logs', '-f', '-i', host.identityFile]);
    try {
      // Following has begun once the history (init's own verification request) is printed.
      await expect.poll(() => logs.output(), { timeout: 30_000, interval: 200 }).toContain('/v1/chat/completions');
      await sleep(500);
      const before = logs.output().length;
      await streamPaced(await localToken());
      const ended = Date.now();
      const shownRequest = () =>
        logs.output().slice(before).split('\n').some((line) => /"msg":"request"/.test(line) && line.includes('"path":"/v1/chat/completions"'));
      await expect.poll(shownRequest, { timeout: 5_000, interval: 100 }).toBe(true);
      expect(Date.now() - ended).toBeLessThan(5_000);
      expect(logs.exitCode()).toBeNull();
    } finally {
      const code = await logs.interrupt();
      expect(code, logs.output()).toBe(0);
    }
    // Closing the SSH channel ended `docker logs` on the host too.
    await sleep(1_000);
    expect((await host.exec("pgrep -af '[d]ocker logs'")).stdout).toBe('');
  }, 90_000);
});

describe('relay rotate-token under a steady stream of requests', () => {
  it('drops nothing, switches clients to the new token, and retires the old one after the grace', async () => {
    const oldToken = await localToken();
    const startedAt = (await onHost("docker inspect -f '{{.State.StartedAt}}' relay")).trim();
    let current = oldToken;
    let stopping = false;
    const failures: string[] = [];
    const served = { old: 0, new: 0 };
    const worker = async (kind: 'models' | 'stream') => {
      while (!stopping) {
        const token = current;
        try {
          if (kind === 'models') {
            const status = await modelsStatus(token);
            if (status !== 200) throw new Error(`GET /v1/models: HTTP ${status}`);
          } else {
            const stream = await client.openai(token).chat.completions.create({ model: 'gpt-fake', stream: true, messages: [{ role: 'user', content: 'hi' }] });
            for await (const _event of stream);
          }
          served[token === oldToken ? 'old' : 'new']++;
        } catch (e) {
          failures.push(`${kind} with the ${token === oldToken ? 'old' : 'new'} token: ${(e as Error).message}`);
          await sleep(100);
        }
      }
    };
    const load = Promise.all([worker('models'), worker('models'), worker('stream'), worker('stream')]);

    await sleep(1_000);
    const r = await cli.run(['rotate-token', '--grace', '10s', '--ca-file', caFile, '--env-file', envFile, '-i', host.identityFile], 300_000);
    // As soon as the command is done, clients move to what it saved.
    const newToken = await localToken();
    current = newToken;
    await sleep(2_000);
    stopping = true;
    await load;

    expect(r.exitCode, shown(r)).toBe(0);
    expect(newToken).not.toBe(oldToken);
    expect(failures).toEqual([]);
    expect(served.old).toBeGreaterThan(0);
    expect(served.new).toBeGreaterThan(0);

    // Not a TTY: the new token is in .env.local (600) and on the host, never on the screen.
    expect(r.stdout + r.stderr).not.toContain(newToken);
    expect(r.stdout + r.stderr).not.toContain(oldToken);
    expect(r.stdout).toContain(tokenFingerprint(newToken));
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    expect(pickEnvValue(await readFile(envFile, 'utf8'), 'OTHER_SECRET')).toBe(OTHER_VALUE);
    expect(await hostTokenHash()).toBe(sha256Hex(newToken));
    expect((await onHost('stat -c "%a %U:%G" /opt/relay/tokens.json')).trim()).toBe('600 root:root');
    expect(await onHost('cat /opt/relay/.env')).not.toContain('RELAY_TOKEN');
    // Applied without a restart.
    expect((await onHost("docker inspect -f '{{.State.StartedAt}}' relay")).trim()).toBe(startedAt);

    // The grace ends: the old token is refused, the new one still works.
    await expect.poll(() => modelsStatus(oldToken), { timeout: 30_000, interval: 1_000 }).toBe(401);
    expect(await modelsStatus(newToken)).toBe(200);
  }, 360_000);

  it('relay status shows the new token’s fingerprint and the certificate’s expiry', async () => {
    const r = await cli.run(['status', '--json', '-i', host.identityFile]);
    expect(r.exitCode, shown(r)).toBe(0);
    const status = JSON.parse(r.stdout) as { tokenFingerprint: string; cert: { notAfter: string; daysLeft: number } };
    expect(status.tokenFingerprint).toBe(tokenFingerprint(await localToken()));
    expect(r.stdout).not.toContain(await localToken());
    const served = await servedCertificate({ domain: DOMAIN, address: ADDRESS, ca: root });
    expect(status.cert.notAfter).toBe(new Date(served.certificate.valid_to).toISOString());
    expect(status.cert.daysLeft).toBeGreaterThan(0);
  });
});

describe('named tokens on the host (relay token, relay usage)', () => {
  it('are added, limited, counted, listed and revoked on the running relay, without a restart', async () => {
    const startedAt = await onHost("docker inspect -f '{{.State.StartedAt}}' relay");
    const saved = join(work, 'tokens.env');
    const add = await cli.run(['token', 'add', 'ci-bot', '--rpm', '3', '--save', saved, '-i', host.identityFile]);
    expect(add.exitCode, shown(add)).toBe(0);
    const token = pickEnvValue(await readFile(saved, 'utf8'), 'RELAY_TOKEN_CI_BOT')!;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(saved)).mode & 0o777).toBe(0o600);
    expect(add.stdout + add.stderr).not.toContain(token);
    // Only the hash reached the host.
    const onDisk = await onHost('cat /opt/relay/tokens.json');
    expect(onDisk).not.toContain(token);
    expect(await onHost('stat -c "%a %U:%G" /opt/relay/tokens.json')).toBe('600 root:root\n');

    // Live at once, then limited: a burst of 3 per minute.
    await expect.poll(() => modelsStatus(token), { timeout: 15_000, interval: 500 }).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await modelsStatus(token));
    expect(statuses).toContain(429);

    // Counted per token, and listed with its last use; neither shows the token or its hash.
    // Requests refused with 429 never reached the upstream: only the ones that did are counted.
    await expect
      .poll(async () => {
        const r = await cli.run(['usage', '--json', '-i', host.identityFile]);
        const rows = (JSON.parse(r.stdout) as { rows: Array<{ token: string; requests: number }> }).rows;
        return rows.filter((row) => row.token === 'ci-bot').reduce((sum, row) => sum + row.requests, 0);
      }, { timeout: 20_000, interval: 1_000 })
      .toBeGreaterThanOrEqual(3);
    const list = await cli.run(['token', 'list', '--json', '-i', host.identityFile]);
    expect(list.exitCode, shown(list)).toBe(0);
    const entry = (JSON.parse(list.stdout) as Array<{ name: string; state: string; lastUsed?: string; rpm?: number }>).find((row) => row.name === 'ci-bot');
    expect(entry).toMatchObject({ state: 'active', rpm: 3 });
    expect(entry?.lastUsed).toBeTruthy();
    expect(list.stdout).not.toContain(token);

    // Revoked: refused at once; the default token is untouched; the container never restarted.
    const revoke = await cli.run(['token', 'revoke', 'ci-bot', '-i', host.identityFile]);
    expect(revoke.exitCode, shown(revoke)).toBe(0);
    await expect.poll(() => modelsStatus(token), { timeout: 15_000, interval: 500 }).toBe(401);
    expect(await modelsStatus(await localToken())).toBe(200);
    expect(await onHost("docker inspect -f '{{.State.StartedAt}}' relay")).toBe(startedAt);
  }, 180_000);
});

describe('relay settings across rotate-token, restart and re-deploy', () => {
  /** Status of a chat completion for `model` through nginx with the operator's current token. */
  const chatStatus = async (model: string) => {
    const res = await client.fetch(`https://${DOMAIN}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await localToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.arrayBuffer();
    return res.status;
  };

  it('still apply: a model outside RELAY_MODELS is refused at every step', async () => {
    const set = await cli.run(['deploy', '--base-image', nodeImage, '--env-file', envFile, '--set', 'RELAY_MODELS=gpt-fake', '-i', host.identityFile], 600_000);
    expect(set.exitCode, shown(set)).toBe(0);
    expect(await chatStatus('gpt-fake')).toBe(200);
    expect(await chatStatus('gpt-other')).toBe(403);

    const rotate = await cli.run(['rotate-token', '--ca-file', caFile, '--env-file', envFile, '-i', host.identityFile], 300_000);
    expect(rotate.exitCode, shown(rotate)).toBe(0);
    expect(await onHost("sed -n 's/^RELAY_MODELS=//p' /opt/relay/.env")).toBe('gpt-fake\n');
    expect(await chatStatus('gpt-other')).toBe(403);

    const restart = await cli.run(['restart', '-i', host.identityFile], 300_000);
    expect(restart.exitCode, shown(restart)).toBe(0);
    expect(await chatStatus('gpt-fake')).toBe(200);
    expect(await chatStatus('gpt-other')).toBe(403);

    const again = await cli.run(['deploy', '--base-image', nodeImage, '--env-file', envFile, '-i', host.identityFile], 600_000);
    expect(again.exitCode, shown(again)).toBe(0);
    expect(again.stdout).toContain('no changes');
    expect(await chatStatus('gpt-other')).toBe(403);

    const unset = await cli.run(['deploy', '--base-image', nodeImage, '--env-file', envFile, '--unset', 'RELAY_MODELS', '-i', host.identityFile], 600_000);
    expect(unset.exitCode, shown(unset)).toBe(0);
    expect(await chatStatus('gpt-other')).toBe(200);
  }, 1_200_000);
});

describe('running relay init again', () => {
  it('changes nothing and finishes well under a minute', async () => {
    const token = await localToken();
    const started = Date.now();
    const r = await cli.run(initArgs(), 300_000);
    const took = Date.now() - started;
    expect(r.exitCode, shown(r)).toBe(0);
    expect(r.stdout).toMatch(/✓ .+ \(unchanged\)/);
    expect(r.stdout).not.toContain('(changed)');
    expect(took).toBeLessThan(60_000);
    // The token is kept, and still works.
    expect(await localToken()).toBe(token);
    expect(await hostTokenHash()).toBe(sha256Hex(token));
    expect(await modelsStatus(token)).toBe(200);
  }, 300_000);
});

describe('the sentinel OPENAI_API_KEY and the rest of .env.local', () => {
  it('appear in no CLI output and no log on the host; the other lines never reach the host', async () => {
    const everything = cli.transcript();
    expect(everything.length).toBeGreaterThan(1000);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(OTHER_VALUE);
    const logs = await host.exec(
      'docker logs relay 2>&1; journalctl --no-pager 2>/dev/null; cat /var/log/nginx/*.log /var/log/letsencrypt/*.log 2>/dev/null',
      { timeoutMs: 60_000 },
    );
    expect(logs.stdout).toContain('/v1/chat/completions');
    expect(logs.stdout).not.toContain(KEY);
    const leaked = await host.exec(
      `grep -rIl -e ${OTHER_VALUE} -e OTHER_SECRET /opt /etc /root /home /tmp /var/tmp /var/log /var/lib/docker/containers 2>/dev/null`,
      { timeoutMs: 120_000 },
    );
    expect(leaked.stdout).toBe('');
  });
});
