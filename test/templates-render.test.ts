// Every template rendered as deploy renders it, then validated for real where a validator exists
// on this machine: `nginx -t` always, `docker compose config` and `systemd-analyze verify` when present.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderApp, type DeployInput } from '../src/plan/deploy-plan.js';
import { renderDeployEnv } from '../src/deploy-env.js';
import { freePort } from './support/free-port.js';
import { hasSystemComponent } from './support/system-component.js';

const read = (path: string) => readFileSync(join('templates', path), 'utf8');
const templates = {
  nginx: read('nginx/relay.conf'),
  nginxTls: read('nginx/relay-tls.conf'),
  nginxProxy: read('nginx/relay-proxy.conf'),
  nginxTlsPending: read('nginx/relay-tls-pending.conf'),
  compose: read('compose/compose.yaml'),
  dockerfile: read('compose/Dockerfile'),
  systemd: read('systemd/relay.service'),
};

const input: DeployInput = {
  appDir: '/opt/relay',
  serverName: 'relay.example.com',
  baseImage: 'node:24-alpine',
  version: '0.1.0',
  bundle: { entry: Buffer.from('// entry\n'), core: Buffer.from('// relay\n'), tokenizer: Buffer.from('// tokenizer\n') },
  envFile: renderDeployEnv({ OPENAI_API_KEY: 'sk-render-test' }),
  tokensFile: '{ "version": 1, "tokens": [] }\n',
  token: 'tok',
  templates,
};
const app = renderApp(input);
const certDir = () => join(work, 'live', 'relay.example.com');
const tlsApp = (hsts: boolean) => renderApp({ ...input, tls: { certDir: certDir(), hsts } });

function available(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'relay-templates-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('templates', () => {
  it('are fully rendered: no {{placeholder}} is left in any of them', () => {
    for (const [name, text] of Object.entries({ dockerfile: app.dockerfile, compose: app.compose, nginx: app.nginx, nginxTls: tlsApp(true).nginx, systemd: app.systemd })) {
      expect(text, name).not.toMatch(/\{\{\s*\w+\s*\}\}/);
    }
  });

  it('explain themselves: every template opens with a comment', () => {
    for (const text of Object.values(templates)) expect(text.trimStart().startsWith('#')).toBe(true);
  });
});

describe.skipIf(!hasSystemComponent('nginx', 'nginx-light'))('the nginx vhost', () => {
  /** Runs `nginx -t` on a vhost inside a temporary prefix laid out like Debian's /etc/nginx. */
  async function nginxTest(name: string, vhost: string) {
    const prefix = join(work, name);
    await mkdir(join(prefix, 'tmp'), { recursive: true });
    await mkdir(join(prefix, 'snippets'), { recursive: true });
    await writeFile(join(prefix, 'snippets', 'relay-proxy.conf'), templates.nginxProxy);
    await writeFile(join(prefix, 'relay.conf'), vhost);
    // Like Debian's nginx.conf: the vhost is included inside http {}.
    await writeFile(
      join(prefix, 'nginx.conf'),
      `pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events {}
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  include ${prefix}/relay.conf;
}
`,
    );
    return spawnSync('nginx', ['-t', '-e', 'stderr', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' });
  }

  it('passes `nginx -t` inside a temporary prefix', async () => {
    const result = await nginxTest('nginx-http', app.nginx);
    expect(result.stderr).toContain('syntax is ok');
    expect(result.stderr).toContain('test is successful');
    expect(result.status).toBe(0);
  });

  it('passes `nginx -t` as the vhost of a domain waiting for its certificate', async () => {
    const result = await nginxTest('nginx-tls-pending', renderApp({ ...input, tlsPending: true }).nginx);
    expect(result.stderr).toContain('test is successful');
    expect(result.status).toBe(0);
  });

  it('passes `nginx -t` as the HTTPS vhost, with and without HSTS', async () => {
    await mkdir(certDir(), { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=relay.example.com',
      '-keyout', join(certDir(), 'privkey.pem'), '-out', join(certDir(), 'fullchain.pem')], { stdio: 'ignore' });
    for (const hsts of [true, false]) {
      const result = await nginxTest(`nginx-tls-${hsts}`, tlsApp(hsts).nginx);
      expect(result.stderr).toContain('test is successful');
      expect(result.status).toBe(0);
    }
    const lines = (text: string) => text.split('\n').map((l) => l.trim());
    expect(lines(tlsApp(true).nginx)).toContain('add_header Strict-Transport-Security "max-age=31536000" always;');
    expect(tlsApp(false).nginx).not.toContain('Strict-Transport-Security "');
    expect(lines(tlsApp(false).nginx)).toEqual(expect.arrayContaining(['listen 443 ssl;', 'ssl_protocols TLSv1.2 TLSv1.3;', 'return 301 https://$host$request_uri;']));
  });

  it("offers Mozilla's intermediate profile: TLS 1.2+, ECDHE with AEAD ciphers only (issue 15, point 12)", () => {
    const lines = tlsApp(false).nginx.split('\n').map((l) => l.trim());
    expect(lines).toEqual(expect.arrayContaining([
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_ecdh_curve X25519:prime256v1:secp384r1;',
      'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;',
      'ssl_prefer_server_ciphers off;',
    ]));
    // What openssl makes of that list: no RSA key exchange, no CBC, no SHA-1 MAC.
    const list = /ssl_ciphers (\S+);/.exec(tlsApp(false).nginx)![1]!;
    const suites = execFileSync('openssl', ['ciphers', '-v', list], { encoding: 'utf8' }).trim().split('\n');
    for (const suite of suites.filter((l) => !l.includes('TLSv1.3'))) {
      expect(suite).toMatch(/Kx=ECDH/);
      expect(suite).toMatch(/Enc=(AESGCM|CHACHA20)/);
      expect(suite).toMatch(/Mac=AEAD/);
    }
    expect(suites.some((l) => l.startsWith('AES128-SHA '))).toBe(false);
  });

  it('served by a real nginx: AES128-SHA is refused, a modern client connects over TLS 1.3 and 1.2', async () => {
    const dir = join(work, 'live-serve');
    await mkdir(dir, { recursive: true });
    // An RSA certificate: with an ECDSA one, RSA key exchange (AES128-SHA) is impossible anyway.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=relay.example.com',
      '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem')], { stdio: 'ignore' });
    const [http, https] = [await freePort(), await freePort()];
    // The rendered vhost, on loopback ports instead of 80/443.
    const vhost = renderApp({ ...input, tls: { certDir: dir, hsts: false } }).nginx
      .replace(/^\s*listen \[::\]:.*$/gm, '')
      .replace('listen 80;', `listen 127.0.0.1:${http};`)
      .replace('listen 443 ssl;', `listen 127.0.0.1:${https} ssl;`);
    const prefix = join(work, 'nginx-serve');
    expect((await nginxTest('nginx-serve', vhost)).status).toBe(0);
    const nginx = spawn('nginx', ['-e', 'stderr', '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    try {
      const sClient = (args: string[]) => spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, '-servername', 'relay.example.com', ...args], { input: '', encoding: 'utf8', timeout: 10_000 });
      await expect.poll(() => sClient([]).stdout, { timeout: 10_000, interval: 200 }).toContain('CONNECTED');
      // RSA key exchange with CBC-SHA1, and ECDHE with CBC-SHA1: both refused.
      for (const cipher of ['AES128-SHA', 'ECDHE-RSA-AES128-SHA']) {
        const legacy = sClient(['-tls1_2', '-cipher', `${cipher}@SECLEVEL=0`]);
        expect(legacy.status, cipher).not.toBe(0);
        expect(legacy.stdout + legacy.stderr).toMatch(/handshake failure|alert/);
      }
      expect(sClient([]).stdout).toMatch(/New, TLSv1\.3, Cipher is TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256)/);
      const tls12 = sClient(['-tls1_2']);
      expect(tls12.status).toBe(0);
      expect(tls12.stdout).toMatch(/New, TLSv1\.2, Cipher is ECDHE-RSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
    } finally {
      nginx.kill();
    }
  });

  it('streams both ways and allows 512 MB bodies, long timeouts and WebSocket upgrades', () => {
    const directives = `${app.nginx}\n${templates.nginxProxy}`.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const wanted of [
      'proxy_http_version 1.1;',
      'keepalive 32;',
      'proxy_buffering off;',
      'proxy_request_buffering off;',
      'proxy_read_timeout 3600s;',
      'proxy_send_timeout 3600s;',
      'client_max_body_size 512m;',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_set_header X-Forwarded-Host $host;',
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_set_header Connection $relay_connection_upgrade;',
      'map $http_upgrade $relay_connection_upgrade {',
      'location ^~ /.well-known/acme-challenge/ {',
      'server_name relay.example.com;',
    ]) {
      expect(directives).toContain(wanted);
    }
  });
});

describe('the compose file', () => {
  const hasCompose = available('docker', ['compose', 'version']);
  it.skipIf(!hasCompose)('passes `docker compose config`', async () => {
    const dir = join(work, 'compose');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'compose.yaml'), app.compose);
    await writeFile(join(dir, '.env'), input.envFile);
    const out = execFileSync('docker', ['compose', '-f', join(dir, 'compose.yaml'), 'config', '--format', 'json'], { encoding: 'utf8' });
    const config = JSON.parse(out) as { services: { relay: { ports: Array<{ host_ip: string; published: string }> } } };
    expect(config.services.relay.ports).toEqual([expect.objectContaining({ host_ip: '127.0.0.1', published: '3001' })]);
  });
  if (!hasCompose) it.skip('docker compose config: skipped, `docker compose` is not available on this machine', () => {});

  it('publishes on loopback only and carries the deploy hash', () => {
    expect(app.compose).toMatch(/ports:\n\s+- "127\.0\.0\.1:3001:3001"\n/);
    expect(app.compose).toContain(`relay.deploy-hash: "${app.deployHash}"`);
  });
});

describe('the Dockerfile', () => {
  it('needs nothing from the base image but node: exec-form RUN, healthcheck and CMD, numeric USER', () => {
    expect(app.dockerfile).not.toMatch(/^RUN (?!\["node", )/m);
    expect(app.dockerfile).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \["node", "-e", /m);
    expect(app.dockerfile).toContain('CMD ["node", "/app/relay-server.mjs"]');
    expect(app.dockerfile).toMatch(/^USER \d+:\d+$/m);
  });

  it('caps V8\'s young generation for every node it runs, the compile-cache build included', () => {
    expect(app.dockerfile).toMatch(/^\s+NODE_OPTIONS=--max-semi-space-size=8$/m);
    expect(app.dockerfile.indexOf('NODE_OPTIONS=')).toBeLessThan(app.dockerfile.indexOf('RUN ['));
  });

  it('fills a compile cache for the bundle at build time', () => {
    expect(app.dockerfile).toMatch(/^ENV NODE_COMPILE_CACHE=\/app\/compile-cache$/m);
    expect(app.dockerfile).toContain('RUN ["node", "/app/relay-server.mjs", "--version"]');
  });

  it('has a healthcheck script that is valid JavaScript', () => {
    const script = /CMD \["node", "-e", "(.*)"\]/.exec(app.dockerfile)![1]!;
    expect(() => new Function(script)).not.toThrow();
  });
});

describe('the systemd unit', () => {
  it('is a oneshot that stays active, ordered after Docker and the network', () => {
    for (const line of ['Type=oneshot', 'RemainAfterExit=yes', 'Requires=docker.service', 'After=docker.service network-online.target', 'WantedBy=multi-user.target', 'WorkingDirectory=/opt/relay']) {
      expect(app.systemd.split('\n')).toContain(line);
    }
    // Longer than the container's stop_grace_period (45s).
    expect(app.systemd).toContain('TimeoutStopSec=75s');
  });

  const hasAnalyze = available('systemd-analyze', ['--version']);
  it.skipIf(!hasAnalyze)('passes `systemd-analyze verify` (apart from docker not being at /usr/bin on this machine)', async () => {
    const dir = join(work, 'systemd');
    await mkdir(dir, { recursive: true });
    const unit = join(dir, 'relay.service');
    await writeFile(unit, app.systemd);
    const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    const problems = result.stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => !/\/usr\/bin\/docker|docker\.service|Failed to prepare filename|Unit .* not found|not executable/.test(l));
    expect(problems).toEqual([]);
  });
});
