import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildDeployEnv, readLocalApiKey, renderDeployEnv } from '../../src/deploy-env.js';
import { emptyTokensFile, renderTokensFile, sha256Hex, withDefaultToken } from '../../src/shared/tokens-file.js';
import { buildDeployPlan, renderApp, verifyThroughNginxCommand, type DeployInput, type DeployTemplates } from '../../src/plan/deploy-plan.js';
import { logsCommand, parseStatus, restartSteps, statusCommand, waitHealthyCommand } from '../../src/plan/operate.js';
import type { Step } from '../../src/plan/step.js';

const KEY = 'sk-test-SENTINEL-9b7e11';
const OTHER_VALUE = 'other-secret-SENTINEL-3c5d';
const TOKEN = '0123456789abcdef'.repeat(4);
const TOKENS_FILE = renderTokensFile(withDefaultToken(emptyTokensFile(), sha256Hex(TOKEN), Date.parse('2026-01-01T00:00:00Z')));

const templates: DeployTemplates = {
  nginx: readFileSync('templates/nginx/relay.conf', 'utf8'),
  nginxTls: readFileSync('templates/nginx/relay-tls.conf', 'utf8'),
  nginxProxy: readFileSync('templates/nginx/relay-proxy.conf', 'utf8'),
  nginxTlsPending: readFileSync('templates/nginx/relay-tls-pending.conf', 'utf8'),
  compose: readFileSync('templates/compose/compose.yaml', 'utf8'),
  dockerfile: readFileSync('templates/compose/Dockerfile', 'utf8'),
  systemd: readFileSync('templates/systemd/relay.service', 'utf8'),
};

function input(overrides: Partial<DeployInput> = {}): DeployInput {
  return {
    appDir: '/opt/relay',
    serverName: 'relay.example.com',
    baseImage: 'node:24-alpine',
    version: '0.1.0',
    bundle: { entry: Buffer.from('// starts relay-core.cjs\n'), core: Buffer.from('console.log("relay")\n'), tokenizer: Buffer.from('// ranks\n') },
    envFile: renderDeployEnv({ OPENAI_API_KEY: KEY }),
    tokensFile: TOKENS_FILE,
    token: TOKEN,
    templates,
    ...overrides,
  };
}

/** Every string a plan holds, file contents included, for "never appears anywhere" checks. */
function everyString(steps: Step[], { withSecretFile = true } = {}): string {
  return steps
    .flatMap((s) => [
      s.id,
      s.title,
      s.check ?? '',
      s.fix ?? '',
      ...s.apply,
      ...(withSecretFile ? [s.stdin ?? ''] : []),
      ...(s.files ?? []).flatMap((f) => [f.path, f.mode, f.owner, withSecretFile || !f.path.endsWith('/.env') ? String(f.content) : '']),
    ])
    .join('\n');
}

const commands = (steps: Step[]) => steps.flatMap((s) => [s.check ?? '', ...s.apply]).join('\n');
const step = (steps: Step[], id: string) => steps.find((s) => s.id === id)!;

describe('relay deploy: the plan', () => {
  // Built in each test, not once per file: a mutation run sees each test build its own plan.
  let steps: Step[];
  beforeEach(() => {
    steps = buildDeployPlan(input());
  });

  it('creates the app dir, starts the container, waits for health, installs the boot unit and the vhost, verifies', () => {
    expect(steps.map((s) => s.id)).toEqual(['app.dir', 'tokens.registry', 'app.env', 'app.container', 'app.healthy', 'systemd.unit', 'nginx.acme-root', 'nginx.vhost', 'verify.nginx']);
    for (const s of steps.filter((s) => !['tokens.registry', 'app.env'].includes(s.id))) expect(s.check, s.id).toBeTruthy();
  });

  it('registers RELAY_TOKEN as the "default" of tokens.json (its hash, root-only) before the .env without it goes up', () => {
    const registry = step(steps, 'tokens.registry');
    expect(registry.title).toBe('Register RELAY_TOKEN as the "default" token in /opt/relay/tokens.json (its hash only)');
    expect(registry.files).toEqual([{ path: '/opt/relay/tokens.json', content: TOKENS_FILE, mode: '0600', owner: 'root:root' }]);
    // A running relay re-reads it at once; a first deploy has none to tell.
    expect(registry.apply).toEqual(['docker kill --signal HUP relay >/dev/null 2>&1 || true']);
    expect(String(registry.files![0]!.content)).not.toContain(TOKEN);
    expect(steps.map((s) => s.id).indexOf('tokens.registry')).toBeLessThan(steps.map((s) => s.id).indexOf('app.container'));
  });

  it('makes /opt/relay root-owned', () => {
    expect(step(steps, 'app.dir')).toMatchObject({
      check: `[ "$(stat -c '%U:%G %a' /opt/relay 2>/dev/null)" = 'root:root 755' ]`,
      apply: ['install -d -m 0755 -o root -g root /opt/relay'],
    });
  });

  it('uploads the relay (entry point, bundle and tokenizer), Dockerfile, compose.yaml and a root-only .env', () => {
    const files = step(steps, 'app.container').files!.map(({ path, mode, owner }) => ({ path, mode, owner }));
    expect(files).toEqual([
      { path: '/opt/relay/relay-server.mjs', mode: '0644', owner: 'root:root' },
      { path: '/opt/relay/relay-core.cjs', mode: '0644', owner: 'root:root' },
      { path: '/opt/relay/relay-tokenizer.cjs', mode: '0644', owner: 'root:root' },
      { path: '/opt/relay/Dockerfile', mode: '0644', owner: 'root:root' },
      { path: '/opt/relay/compose.yaml', mode: '0644', owner: 'root:root' },
    ]);
    // The .env is part of the deploy hash: a change the container must see rebuilds it (app.container's
    // check), while lines it does not carry any more (an old host's RELAY_TOKEN) go without a restart.
    expect(step(steps, 'app.env')).toEqual({
      id: 'app.env',
      title: "Write the relay's environment to /opt/relay/.env (root-only; no token)",
      files: [{ path: '/opt/relay/.env', content: input().envFile, mode: '0600', owner: 'root:root' }],
      apply: [],
    });
    expect(step(steps, 'app.container').files![0]!.content).toEqual(input().bundle.entry);
    expect(step(steps, 'app.container').files![1]!.content).toEqual(input().bundle.core);
    expect(step(steps, 'app.container').files![2]!.content).toEqual(input().bundle.tokenizer);
  });

  it('builds and starts the container only when the running one is not made of these files', () => {
    const container = step(steps, 'app.container');
    const { deployHash } = renderApp(input());
    expect(container.check).toBe(
      `[ "$(docker inspect -f '{{index .Config.Labels "relay.deploy-hash"}} {{.State.Running}}' relay 2>/dev/null)" = '${deployHash} true' ]`,
    );
    expect(container.apply).toEqual([
      'docker compose -f /opt/relay/compose.yaml build',
      'docker compose -f /opt/relay/compose.yaml up -d --remove-orphans',
      'docker image prune -f --filter label=org.opencontainers.image.title=relay >/dev/null',
    ]);
  });

  it('changes the deploy hash when the bundle, the .env or the base image change, and only then', () => {
    const base = renderApp(input()).deployHash;
    expect(renderApp(input()).deployHash).toBe(base);
    expect(renderApp(input({ bundle: { ...input().bundle, core: Buffer.from('other') } })).deployHash).not.toBe(base);
    expect(renderApp(input({ bundle: { ...input().bundle, entry: Buffer.from('other') } })).deployHash).not.toBe(base);
    expect(renderApp(input({ bundle: { ...input().bundle, tokenizer: Buffer.from('other') } })).deployHash).not.toBe(base);
    expect(renderApp(input({ envFile: renderDeployEnv({ OPENAI_API_KEY: `${KEY}x` }) })).deployHash).not.toBe(base);
    // Tokens are re-read by the running relay from tokens.json: a rotated token needs no new container.
    expect(renderApp(input({ token: 'x', tokensFile: renderTokensFile(withDefaultToken(emptyTokensFile(), sha256Hex('x'), 0)) })).deployHash).toBe(base);
    expect(renderApp(input({ baseImage: 'node:24-slim' })).deployHash).not.toBe(base);
    // The vhost is not part of the container.
    expect(renderApp(input({ serverName: 'other.example.com' })).deployHash).toBe(base);
  });

  it('publishes the container on loopback only, restarts it unless stopped, stops it after the relay grace', () => {
    const compose = renderApp(input()).compose;
    expect(compose).toContain('- "127.0.0.1:3001:3001"');
    expect(compose).toContain('restart: unless-stopped');
    expect(compose).toContain('RELAY_SHUTDOWN_GRACE: 30s');
    expect(compose).toContain('stop_grace_period: 45s');
    expect(compose).toContain('env_file: .env');
    expect(compose).not.toContain(KEY);
  });

  it('lets the running relay re-read its tokens from the root-only tokens.json, read-only and without capabilities', () => {
    const compose = renderApp(input()).compose;
    expect(compose).toContain('RELAY_TOKENS_FILE: /etc/relay/tokens.json');
    expect(compose).not.toContain('RELAY_ENV_FILE');
    expect(compose).toContain('- /opt/relay:/etc/relay:ro');
    expect(compose).toContain('user: "0:0"');
    expect(compose).toContain('read_only: true');
    expect(compose).toMatch(/cap_drop:\n\s+- ALL/);
  });

  it('serves HTTPS once a certificate exists, so a later deploy never falls back to HTTP', () => {
    const tls = buildDeployPlan(input({ tls: { certDir: '/etc/letsencrypt/live/relay.example.com', hsts: false } }));
    const vhost = String(step(tls, 'nginx.vhost').files![0]!.content);
    expect(vhost).toContain('ssl_certificate /etc/letsencrypt/live/relay.example.com/fullchain.pem;');
    expect(vhost).toContain('return 301 https://$host$request_uri;');
    expect(vhost).not.toContain('Strict-Transport-Security "');
    // Port 80 only redirects then: the check asks nginx on 443 with the domain's SNI.
    expect(step(tls, 'verify.nginx').check).toContain("--max-time 10 -k --resolve relay.example.com:443:127.0.0.1 -H 'Host: relay.example.com' https://relay.example.com/health");
  });

  it('with a domain waiting for its certificate, serves only ACME challenges and /health on port 80 (issue 15, point 14)', () => {
    const pending = buildDeployPlan(input({ tlsPending: true }));
    const vhost = step(pending, 'nginx.vhost');
    expect(vhost.title).toBe('Configure the nginx vhost for relay.example.com (port 80: ACME and /health only, until HTTPS)');
    const lines = String(vhost.files![0]!.content).split('\n').map((l) => l.trim());
    expect(lines).toEqual(expect.arrayContaining([
      'location ^~ /.well-known/acme-challenge/ {',
      'root /var/www/relay-acme;',
      'location = /health {',
      'return 503 "relay: the API is served over HTTPS only, and the certificate for relay.example.com is not in place yet (relay cert)\\n";',
    ]));
    // The proxy is included for /health alone: nothing else reaches the relay over plain HTTP.
    expect(lines.filter((l) => l === 'include snippets/relay-proxy.conf;')).toHaveLength(1);
    expect(lines.indexOf('include snippets/relay-proxy.conf;')).toBe(lines.indexOf('location = /health {') + 1);
    expect(lines).not.toContain('listen 443 ssl;');
  });

  it('verifies a waiting vhost without sending the token through it: /v1 must be refused on port 80, the token is checked on loopback', () => {
    const verify = step(buildDeployPlan(input({ tlsPending: true })), 'verify.nginx');
    expect(verify.title).toBe('Verify port 80 (Host: relay.example.com) serves /health and refuses the API until HTTPS');
    expect(verify.check).toContain("code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H 'Host: relay.example.com' http://127.0.0.1/health) || code=000");
    expect(verify.check).toContain("code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H 'Host: relay.example.com' http://127.0.0.1/v1/models) || code=000");
    expect(verify.check).toContain('if [ "$code" != 503 ]; then echo "GET /v1/models on port 80 answered $code, not 503: the API must not be served over plain HTTP" >&2; exit 1; fi');
    expect(verify.check).toContain("--config - http://127.0.0.1:3001/v1/models");
    expect(verify.check).not.toMatch(/--config - -H 'Host: relay\.example\.com' http:\/\/127\.0\.0\.1\/v1/);
    expect(spawnSync('sh', ['-n', '-c', verify.check!]).status).toBe(0);
  });

  it('builds FROM --base-image, labelled with the version, numeric USER, healthcheck with node', () => {
    const dockerfile = renderApp(input({ baseImage: 'relay-e2e/node24:base' })).dockerfile;
    expect(dockerfile).toContain('FROM relay-e2e/node24:base\n');
    expect(dockerfile).toContain('org.opencontainers.image.version="0.1.0"');
    expect(dockerfile).toContain('USER 1000:1000\n');
    expect(dockerfile).toContain(`CMD ["node", "-e", "fetch('http://127.0.0.1:3001/health'`);
    const instructions = dockerfile.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    expect(instructions).not.toMatch(/curl|wget/);
  });

  it('installs and enables relay.service', () => {
    const unit = step(steps, 'systemd.unit');
    expect(unit.files!.map((f) => [f.path, f.mode, f.owner])).toEqual([['/etc/systemd/system/relay.service', '0644', 'root:root']]);
    expect(unit.apply).toEqual(['systemctl daemon-reload', 'systemctl enable relay.service', 'systemctl start relay.service']);
    expect(String(unit.files![0]!.content)).toContain('ExecStart=/usr/bin/docker compose -f /opt/relay/compose.yaml up -d --remove-orphans');
  });

  it('stages the vhost, installs it in sites-available + sites-enabled, runs nginx -t before reload and restores on failure', () => {
    const vhost = step(steps, 'nginx.vhost');
    expect(vhost.files!.map((f) => [f.path, f.mode, f.owner])).toEqual([
      ['/opt/relay/nginx/relay.conf', '0644', 'root:root'],
      ['/etc/nginx/snippets/relay-proxy.conf', '0644', 'root:root'],
    ]);
    expect(vhost.check).toBe(
      'cmp -s /opt/relay/nginx/relay.conf /etc/nginx/sites-available/relay.conf && [ "$(readlink /etc/nginx/sites-enabled/relay.conf)" = /etc/nginx/sites-available/relay.conf ]',
    );
    const script = vhost.apply.join('\n');
    expect(script).toContain('/opt/relay/nginx/relay.conf /etc/nginx/sites-available/relay.conf /etc/nginx/sites-enabled/relay.conf /opt/relay/nginx/relay.conf.previous');
    expect(script.indexOf('nginx -t')).toBeLessThan(script.indexOf('systemctl reload-or-restart nginx'));
    expect(script).toContain('the previous one is back in place');
    // Other vhosts (sites-enabled/default, conf.d) are never named.
    expect(commands(steps)).not.toMatch(/sites-enabled\/(?!relay\.conf)|conf\.d/);
  });

  it('renders the vhost for the server name with the ACME webroot', () => {
    const nginx = String(step(steps, 'nginx.vhost').files![0]!.content);
    expect(nginx).toContain('server_name relay.example.com;');
    expect(nginx).toContain('root /var/www/relay-acme;');
    expect(nginx).toContain('server 127.0.0.1:3001;');
    expect(step(steps, 'nginx.acme-root').apply).toEqual(['install -d -m 0755 -o root -g root /var/www/relay-acme']);
  });

  it('verifies through nginx with the operator\'s token, which reaches the host on stdin only (never argv, never a file)', () => {
    const verify = step(steps, 'verify.nginx');
    expect(verify.stdin).toBe(`${TOKEN}\n`);
    expect(verify.check).toContain("-H 'Host: relay.example.com' http://127.0.0.1/health");
    expect(verify.check).not.toContain('/opt/relay/.env');
    expect(verify.check!.startsWith('IFS= read -r token\n')).toBe(true);
    expect(verify.apply[0]!.startsWith('IFS= read -r token\n')).toBe(true);
    expect(verify.check).toContain('curl -sS -o "$body" -w \'%{http_code}\' --max-time 60 --config - -H \'Host: relay.example.com\' http://127.0.0.1/v1/models');
    expect(verify.apply[0]).toContain('if [ "$waited" -ge 30 ]');
  });

  it('keeps every secret out of commands, titles and every file but .env', () => {
    const everything = everyString(steps, { withSecretFile: false });
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(TOKEN);
    const envFile = step(steps, 'app.env').files!.find((file) => file.path === '/opt/relay/.env')!;
    expect(String(envFile.content)).toContain(`OPENAI_API_KEY=${KEY}`);
  });

  it('is made of commands /bin/sh can parse', () => {
    for (const command of [...steps, ...restartSteps('/opt/relay')].flatMap((s) => [s.check ?? '', ...s.apply])) {
      const result = spawnSync('sh', ['-n', '-c', command], { encoding: 'utf8' });
      expect(result.stderr, command).toBe('');
    }
    expect(spawnSync('sh', ['-n', '-c', statusCommand({ appDir: '/opt/relay', domain: 'x.example' })]).status).toBe(0);
  });

  it('rejects a server name or base image that would break the files they are pasted into', () => {
    expect(() => buildDeployPlan(input({ serverName: 'a.com; include /etc/passwd' }))).toThrow(/cannot be an nginx server_name/);
    expect(() => buildDeployPlan(input({ baseImage: 'node\nRUN rm -rf /' }))).toThrow(/not an image reference/);
    expect(() => buildDeployPlan(input({ appDir: 'relative' }))).toThrow(/absolute path/);
  });
});

describe('relay deploy: the titles, fixes and timings an operator reads', () => {
  it('names each step and says where to look when it fails', () => {
    const steps = buildDeployPlan(input());
    expect(steps.map(({ id, title, fix }) => ({ id, title, fix }))).toEqual([
      { id: 'app.dir', title: 'Create the app directory /opt/relay', fix: undefined },
      { id: 'tokens.registry', title: 'Register RELAY_TOKEN as the "default" token in /opt/relay/tokens.json (its hash only)', fix: undefined },
      { id: 'app.env', title: "Write the relay's environment to /opt/relay/.env (root-only; no token)", fix: undefined },
      {
        id: 'app.container',
        title: 'Upload the relay and build and start its container',
        fix: 'Look at the build output above; on the host, `sudo docker compose -f /opt/relay/compose.yaml logs relay` shows why the container stops.',
      },
      { id: 'app.healthy', title: 'Wait until the relay container is healthy', fix: 'The container did not pass its healthcheck: `relay logs -n 100` shows why.' },
      { id: 'systemd.unit', title: 'Install the relay.service boot unit', fix: undefined },
      { id: 'nginx.acme-root', title: 'Create the ACME webroot /var/www/relay-acme', fix: undefined },
      { id: 'nginx.vhost', title: 'Configure the nginx vhost for relay.example.com', fix: 'Run `sudo nginx -t` on the host to see what nginx rejects.' },
      {
        id: 'verify.nginx',
        title: 'Verify a request through nginx (Host: relay.example.com)',
        fix: 'On the host, `curl -v -H "Host: relay.example.com" http://127.0.0.1/health` and `sudo nginx -T` show what answers instead.',
      },
    ]);
    expect(step(steps, 'app.dir').files).toEqual([
      { path: '/opt/relay/.relay-app-dir', content: 'This directory was created by relay (`relay deploy`); relay manages everything in it.\n', mode: '0644', owner: 'root:root' },
    ]);
    expect(step(steps, 'systemd.unit').check).toBe('systemctl is-enabled --quiet relay.service');
    expect(step(steps, 'nginx.acme-root').check).toBe('test -d /var/www/relay-acme');
    expect(step(steps, 'app.healthy').apply).toEqual([waitHealthyCommand(120)]);
    expect(step(buildDeployPlan(input({ healthTimeoutSec: 7 })), 'app.healthy').apply).toEqual([waitHealthyCommand(7)]);
  });

  it('with HTTPS, names it in the vhost title and checks over 443 in the fix', () => {
    const steps = buildDeployPlan(input({ tls: { certDir: '/etc/letsencrypt/live/relay.example.com', hsts: true } }));
    expect(step(steps, 'nginx.vhost').title).toBe('Configure the nginx vhost for relay.example.com (HTTPS)');
    expect(step(steps, 'verify.nginx').title).toBe('Verify a request through nginx (Host: relay.example.com)');
    expect(step(steps, 'verify.nginx').fix).toBe(
      'On the host, `curl -vk --resolve relay.example.com:443:127.0.0.1 https://relay.example.com/health` and `sudo nginx -T` show what answers instead.',
    );
    expect(String(step(steps, 'nginx.vhost').files![0]!.content)).toContain('add_header Strict-Transport-Security "max-age=31536000" always;');
    const noHsts = buildDeployPlan(input({ tls: { certDir: '/etc/letsencrypt/live/relay.example.com', hsts: false } }));
    expect(String(step(noHsts, 'nginx.vhost').files![0]!.content)).toContain('# (HSTS off)');
  });

  it('verifies over plain HTTP on the container port unless told otherwise', () => {
    expect(verifyThroughNginxCommand('relay.example.com')).toBe(verifyThroughNginxCommand('relay.example.com', 'http', 3001));
  });

  it('publishes on --host-port when given, and stops the container and the unit after the grace', () => {
    const app = renderApp(input({ hostPort: 3101, shutdownGraceSec: 10 }));
    expect(app.compose).toContain('- "127.0.0.1:3101:3001"');
    expect(app.compose).toContain('RELAY_SHUTDOWN_GRACE: 10s');
    expect(app.compose).toContain('stop_grace_period: 25s');
    expect(app.systemd).toContain('TimeoutStopSec=55s');
    expect(renderApp(input()).systemd).toContain('TimeoutStopSec=75s');
    expect(String(step(buildDeployPlan(input({ hostPort: 3101 })), 'nginx.vhost').files![0]!.content)).toContain('server 127.0.0.1:3101;');
    expect(step(buildDeployPlan(input({ hostPort: 3101, tlsPending: true })), 'verify.nginx').check).toContain('--config - http://127.0.0.1:3101/v1/models');
  });

  it('polls the verification every 2 s for 30 s, then runs it once more to show why', () => {
    const verify = step(buildDeployPlan(input()), 'verify.nginx');
    const check = verifyThroughNginxCommand('relay.example.com');
    expect(verify.check).toBe(`IFS= read -r token\n${check}`);
    expect(verify.apply).toEqual([`IFS= read -r token\nwaited=0\nuntil (\n${check}\n) 2>/dev/null; do\n  if [ "$waited" -ge 30 ]; then (\n${check}\n); exit 1; fi\n  sleep 2; waited=$((waited + 2))\ndone`]);
  });

  it('refuses a bad server name or base image with a fix', () => {
    expect(() => buildDeployPlan(input({ serverName: 'a b' }))).toThrow(expect.objectContaining({ message: '"a b" cannot be an nginx server_name.', fix: 'Pass --domain relay.example.com (or an IP address).' }));
    expect(() => buildDeployPlan(input({ baseImage: 'Node 24' }))).toThrow(expect.objectContaining({ message: '--base-image "Node 24" is not an image reference.', fix: 'Use a reference such as node:24-alpine.' }));
  });
});

describe('relay deploy: secrets from .env.local', () => {
  it("never carries .env.local's other lines into any field of the plan", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-deploy-plan-'));
    const envLocal = join(dir, '.env.local');
    await writeFile(envLocal, `OTHER_SECRET=${OTHER_VALUE}\nOPENAI_API_KEY=${KEY}\n`);
    const envFile = renderDeployEnv(buildDeployEnv({ apiKey: await readLocalApiKey(envLocal), baseUrl: 'http://172.17.0.1:9999' }));
    const everything = everyString(buildDeployPlan(input({ envFile })));
    expect(everything).not.toContain('OTHER_SECRET');
    expect(everything).not.toContain(OTHER_VALUE);
    expect(everything).toContain(`OPENAI_API_KEY=${KEY}`);
    expect(everything).toContain('OPENAI_BASE_URL=http://172.17.0.1:9999');
  });

});

describe('operating a deployed relay', () => {
  it('streams logs with docker logs, follow/since/tail as flags', () => {
    expect(logsCommand()).toBe('docker logs relay');
    expect(logsCommand({ follow: true, since: '10m', tail: 50 })).toBe('docker logs --tail 50 --since 10m --follow relay');
    expect(logsCommand({ since: "1h; rm -rf /" })).toBe("docker logs --since '1h; rm -rf /' relay");
  });

  it('restarts through compose and waits until healthy', () => {
    const [restart] = restartSteps('/opt/relay');
    expect(restart!.apply[0]).toBe('docker compose -f /opt/relay/compose.yaml restart relay');
    expect(restart!.apply[1]).toBe(waitHealthyCommand(120));
    expect(waitHealthyCommand(60)).toContain('if [ "$waited" -ge 60 ]');
  });

  it('reports status from one read-only script that never reads a token', () => {
    const script = statusCommand({ appDir: '/opt/relay', domain: 'relay.example.com' });
    expect(script).not.toMatch(/RELAY_TOKEN|\.env/);
    expect(script).toContain('/etc/letsencrypt/live/relay.example.com/cert.pem');
    expect(statusCommand({ appDir: '/opt/relay' })).not.toContain('letsencrypt');
  });

  it('parses the status report', () => {
    const out = [
      'container.state=running',
      'container.health=healthy',
      'container.startedAt=2025-01-01T00:00:00.000Z',
      'container.restarts=0',
      'image.id=sha256:abc',
      'image.version=0.1.0',
      'nginx.active=active',
      'relay.service=enabled',
      'cert.notAfter=Mar 31 12:00:00 2025 GMT',
    ].join('\n');
    expect(parseStatus(out, new Date('2025-03-01T12:00:00Z'))).toEqual({
      container: { state: 'running', health: 'healthy', startedAt: '2025-01-01T00:00:00.000Z', restarts: 0 },
      image: { id: 'sha256:abc', version: '0.1.0' },
      nginx: { active: true, state: 'active' },
      systemdUnit: 'enabled',
      cert: { notAfter: '2025-03-31T12:00:00.000Z', daysLeft: 30 },
    });
    expect(parseStatus('container.state=missing\ncontainer.health=\nnginx.active=inactive\n')).toEqual({
      container: { state: 'missing', health: 'none' },
      image: {},
      nginx: { active: false, state: 'inactive' },
      systemdUnit: 'missing',
    });
  });
});
