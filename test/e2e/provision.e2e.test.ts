// relay install + deploy + logs + restart + status, run as an operator would (the real CLI over
// SSH) against a disposable fresh Debian 13 host; then a real request through the host's nginx
// to a fake OpenAI upstream on this machine. A sentinel key must never show up in any output or
// log, and the other lines of .env.local must never reach the host.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickEnvValue } from '../../src/shared/env-local.js';
import { installVhostCommand } from '../../src/plan/deploy-plan.js';
import { sha256Hex } from '../../src/shared/tokens-file.js';
import { tokenFingerprint } from '../../src/shared/token.js';
import { startFakeOpenAI, MODELS, type FakeOpenAI } from '../support/fake-openai.js';
import { run, type RunResult } from './harness/run.js';
import { ensureNodeBaseImage, startTestHost, type TestHost } from './harness/testhost.js';

const CLI = resolve('bin/relay.js');
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const KEY = `sk-e2e-SENTINEL-${randomBytes(8).toString('hex')}`;
const OTHER_VALUE = `other-SENTINEL-${randomBytes(8).toString('hex')}`;

let host: TestHost;
let upstream: FakeOpenAI;
let work: string;
let home: string;
let nodeImage: string;
/** Every byte any CLI run printed, for the sentinel check at the end. */
const transcript: string[] = [];

function target(): string[] {
  // Host keys of these short-lived hosts go to a known_hosts of their own, never the real one.
  return ['--host', `ops@127.0.0.1:${host.sshPort}`, '-i', host.identityFile, '--known-hosts', join(home, 'known_hosts'), '--yes'];
}

function cliEnv(): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home, NO_COLOR: '1' };
  delete env.SSH_AUTH_SOCK;
  return env;
}

async function relay(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  const result = await run(process.execPath, [CLI, ...args], { cwd: work, env: cliEnv(), timeoutMs, allowFailure: true });
  transcript.push(`$ relay ${args.join(' ')}\n${result.stdout}${result.stderr}`);
  return result;
}

const ok = (r: RunResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

async function onHost(cmd: string): Promise<string> {
  const r = await host.exec(cmd);
  if (r.exitCode !== 0) throw new Error(`on host: ${cmd}: exit ${r.exitCode}\n${r.stderr}`);
  return r.stdout;
}

/** The token as the operator has it: RELAY_TOKEN in .env.local (the host keeps only its hash). */
async function relayToken(): Promise<string> {
  const token = pickEnvValue(readFileSync(join(work, '.env.local'), 'utf8'), 'RELAY_TOKEN');
  if (!token) throw new Error('no RELAY_TOKEN in .env.local');
  return token;
}

/** The host's token registry, read as root. */
async function tokensOnHost(): Promise<{ tokens: Array<{ name: string; sha256: string; previous?: { until: string } }> }> {
  return JSON.parse(await onHost('cat /opt/relay/tokens.json'));
}

const viaNginx = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${host.httpPort}${path}`, init);

beforeAll(async () => {
  [host, nodeImage] = await Promise.all([startTestHost({ name: 'provision' }), ensureNodeBaseImage()]);
  upstream = await startFakeOpenAI(host.gateway);
  work = await mkdtemp(join(tmpdir(), 'relay-e2e-project-'));
  home = await mkdtemp(join(tmpdir(), 'relay-e2e-home-'));
  await writeFile(join(work, '.env.local'), `# the operator's own file\nOTHER_SECRET=${OTHER_VALUE}\nOPENAI_API_KEY=${KEY}\n`);
}, 900_000);

afterAll(async () => {
  await upstream?.close();
  await host?.destroy();
  for (const dir of [work, home]) if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('relay install on a fresh Debian 13 host', () => {
  it('installs Docker (distro packages), Compose v2, nginx and certbot', async () => {
    const r = await relay(['install', ...target(), '--accept-new-host-key', '--docker-source', 'distro']);
    expect(r.exitCode, ok(r)).toBe(0);
    expect(r.stdout).toMatch(/✓ Install Docker Engine and Compose v2 .*\(changed\)/);
    expect(r.stdout).toMatch(/✓ Enable and start Docker and nginx \((changed|unchanged)\)/);
    expect(await onHost('docker compose version --short')).toMatch(/^2\./);
    expect((await onHost('systemctl is-active docker nginx')).trim().split('\n')).toEqual(['active', 'active']);
    expect(await onHost('command -v certbot')).toContain('certbot');
  }, 900_000);
});

describe('relay deploy', () => {
  it('builds and starts the relay behind nginx and verifies it', async () => {
    await host.loadImage(nodeImage);
    const r = await relay(['deploy', ...target(), '--base-image', nodeImage, '--openai-base-url', upstream.url]);
    expect(r.exitCode, ok(r)).toBe(0);
    expect(r.stdout).toMatch(/✓ Verify a request through nginx .*\((changed|unchanged)\)/);
    expect(r.stdout).toMatch(/RELAY_TOKEN generated \(sha256:[0-9a-f]{16}\)/);
  }, 900_000);

  it('answers a real request through the host nginx, with the server-held key upstream', async () => {
    const token = await relayToken();
    const res = await viaNginx('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content).toBe('Hello from the fake upstream.');
    const seen = upstream.seen.at(-1)!;
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('streams server-sent events through nginx as they are produced', async () => {
    const token = await relayToken();
    const res = await viaNginx('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODELS.paced, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const arrivals: number[] = [];
    for await (const _chunk of res.body!) arrivals.push(Date.now());
    // Paced chunks 200 ms apart upstream: buffering would deliver them in one burst at the end.
    expect(arrivals.length).toBeGreaterThan(2);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(500);
  });

  it('refuses a request without the relay token', async () => {
    const res = await viaNginx('/v1/models');
    expect(res.status).toBe(401);
  });

  it("keeps .env root-only with only the allowed keys, and .env.local's other lines off the host", async () => {
    expect((await onHost('stat -c "%a %U:%G" /opt/relay/.env')).trim()).toBe('600 root:root');
    const keys = (await onHost("grep -v '^#' /opt/relay/.env | cut -d= -f1")).trim().split('\n');
    expect(keys).toEqual(['OPENAI_API_KEY', 'OPENAI_BASE_URL']);
    // RELAY_TOKEN is the registry's "default": only its hash is on the host, root-only.
    expect((await onHost('stat -c "%a %U:%G" /opt/relay/tokens.json')).trim()).toBe('600 root:root');
    expect((await tokensOnHost()).tokens).toEqual([expect.objectContaining({ name: 'default', sha256: sha256Hex(await relayToken()) })]);
    expect((await host.exec(`grep -rIl ${await relayToken()} /opt/relay /etc 2>/dev/null`)).stdout).toBe('');
    const leaked = await host.exec(
      `grep -rIl -e ${OTHER_VALUE} -e OTHER_SECRET /opt /etc /root /home /tmp /var/tmp /var/log /var/lib/docker/containers 2>/dev/null`,
      { timeoutMs: 120_000 },
    );
    expect(leaked.stdout).toBe('');
  });

  it('publishes the container on loopback only, enabled at boot via relay.service', async () => {
    expect((await onHost('docker port relay')).trim()).toBe('3001/tcp -> 127.0.0.1:3001');
    expect((await onHost('systemctl is-enabled relay.service')).trim()).toBe('enabled');
    expect((await onHost('readlink /etc/nginx/sites-enabled/relay.conf')).trim()).toBe('/etc/nginx/sites-available/relay.conf');
    // The distribution's default vhost is left alone.
    expect((await host.exec('test -e /etc/nginx/sites-enabled/default')).exitCode).toBe(0);
  });
});

describe('a vhost that nginx rejects', () => {
  it('is rolled back: the previous vhost stays live and nginx keeps serving', async () => {
    await onHost("printf 'server {\\n  listen 80;\\n  no_such_directive on;\\n}\\n' > /tmp/broken-relay.conf");
    const r = await host.exec(installVhostCommand('/tmp/broken-relay.conf'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('nginx -t rejected the new relay vhost; the previous one is back in place');
    expect((await host.exec('cmp /opt/relay/nginx/relay.conf /etc/nginx/sites-available/relay.conf')).exitCode).toBe(0);
    expect((await onHost('readlink /etc/nginx/sites-enabled/relay.conf')).trim()).toBe('/etc/nginx/sites-available/relay.conf');
    expect((await viaNginx('/health')).status).toBe(200);
  });
});

describe('operating the relay', () => {
  it('relay status reports health, version, nginx and the token fingerprint', async () => {
    const r = await relay(['status', ...target(), '--json']);
    expect(r.exitCode, ok(r)).toBe(0);
    const status = JSON.parse(r.stdout) as Record<string, any>;
    expect(status).toMatchObject({
      reachable: true,
      healthy: true,
      container: { state: 'running', health: 'healthy' },
      image: { version: VERSION },
      nginx: { active: true },
      systemdUnit: 'enabled',
      tokenFingerprint: tokenFingerprint(await relayToken()),
    });
    expect(r.stdout).not.toContain(await relayToken());
    const text = await relay(['status', ...target()]);
    expect(text.exitCode, ok(text)).toBe(0);
    expect(text.stdout).toMatch(/container\s+running, healthy/);
  });

  it('relay logs shows the request log lines', async () => {
    const r = await relay(['logs', ...target(), '-n', '50']);
    expect(r.exitCode, ok(r)).toBe(0);
    expect(r.stdout + r.stderr).toContain('/v1/chat/completions');
  });

  it('relay logs -f streams until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'logs', ...target(), '-f', '-n', '5'], { cwd: work, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (output === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // A request made now must show up in the followed stream.
    await viaNginx('/health');
    await viaNginx('/v1/models');
    await new Promise((r) => setTimeout(r, 1_500));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    transcript.push(`$ relay logs -f\n${output}`);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(output).toContain('/v1/models');
    // Closing the SSH channel ended `docker logs -f` on the host too.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await host.exec('pgrep -f "docker logs --tail 5 --follow relay"')).stdout).toBe('');
  }, 60_000);

  it('relay restart restarts the container and waits until healthy', async () => {
    const before = (await onHost("docker inspect -f '{{.State.StartedAt}}' relay")).trim();
    const r = await relay(['restart', ...target()]);
    expect(r.exitCode, ok(r)).toBe(0);
    expect(r.stdout).toMatch(/✓ Restart the relay container and wait until healthy \(changed\)/);
    expect((await onHost("docker inspect -f '{{.State.StartedAt}} {{.State.Health.Status}}' relay")).trim()).toMatch(/ healthy$/);
    expect((await onHost("docker inspect -f '{{.State.StartedAt}}' relay")).trim()).not.toBe(before);
    const res = await viaNginx('/v1/models', { headers: { authorization: `Bearer ${await relayToken()}` } });
    expect(res.status).toBe(200);
  }, 300_000);
});

describe('running install and deploy again', () => {
  it('reports no changes and keeps the token', async () => {
    const token = await relayToken();
    const install = await relay(['install', ...target(), '--docker-source', 'distro']);
    expect(install.exitCode, ok(install)).toBe(0);
    expect(install.stdout).not.toContain('(changed)');
    expect(install.stdout).toContain('no changes');

    const deploy = await relay(['deploy', ...target(), '--base-image', nodeImage, '--openai-base-url', upstream.url]);
    expect(deploy.exitCode, ok(deploy)).toBe(0);
    expect(deploy.stdout).not.toContain('(changed)');
    expect(deploy.stdout).toContain('no changes');
    expect(deploy.stdout).toContain(`RELAY_TOKEN kept (${tokenFingerprint(token)})`);
    expect(await relayToken()).toBe(token);
  }, 600_000);

  it('remembered the target in relay.json, so later commands need no --host', async () => {
    const project = JSON.parse(readFileSync(join(work, 'relay.json'), 'utf8')) as Record<string, unknown>;
    expect(project).toMatchObject({ host: '127.0.0.1', user: 'ops', port: host.sshPort, appDir: '/opt/relay' });
    // relay.json never names the key or the known_hosts file (it may be committed): those stay flags.
    const r = await relay(['status', '-i', host.identityFile, '--known-hosts', join(home, 'known_hosts'), '--yes']);
    expect(r.exitCode, ok(r)).toBe(0);
  });
});

describe('a host deployed before the one token registry (RELAY_TOKEN in clear in its .env)', () => {
  it('is migrated by the next deploy with no failed request and no token change', async () => {
    const token = await relayToken();
    // The layout today's main left: RELAY_TOKEN in .env, no "default" in tokens.json, and the
    // container started from that .env (its env holds RELAY_TOKEN).
    await onHost(`cd /opt/relay && sed -i 's/^OPENAI_API_KEY=.*$/&\\nRELAY_TOKEN=${token}/' .env && rm -f tokens.json && docker compose up -d --force-recreate --wait relay >/dev/null 2>&1`);
    expect(await onHost("sed -n 's/^RELAY_TOKEN=//p' /opt/relay/.env")).toBe(`${token}\n`);
    expect((await host.exec('test -e /opt/relay/tokens.json')).exitCode).not.toBe(0);
    await expect.poll(async () => (await viaNginx('/v1/models', { headers: { authorization: `Bearer ${token}` } })).status, { timeout: 60_000 }).toBe(200);

    // A client polling with the token all through the migrating deploy.
    let stopping = false;
    const failures: string[] = [];
    let served = 0;
    const client = (async () => {
      while (!stopping) {
        try {
          const res = await viaNginx('/v1/models', { headers: { authorization: `Bearer ${token}` } });
          await res.arrayBuffer();
          if (res.status === 200) served++;
          else failures.push(`HTTP ${res.status}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const deploy = await relay(['deploy', ...target(), '--base-image', nodeImage]);
    stopping = true;
    await client;
    expect(deploy.exitCode, ok(deploy)).toBe(0);
    expect(deploy.stdout).toContain(`RELAY_TOKEN kept (${tokenFingerprint(token)}), moved to tokens.json as "default"`);
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(10);

    // Same token, now known to the host by its hash only.
    expect(await relayToken()).toBe(token);
    expect((await viaNginx('/v1/models', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(await onHost('cat /opt/relay/.env')).not.toContain('RELAY_TOKEN');
    expect((await tokensOnHost()).tokens).toEqual([expect.objectContaining({ name: 'default', sha256: sha256Hex(token) })]);

    // From here on "default" rotates like any token, and is listed with its grace. (`relay rotate-token`
    // checks through nginx on port 80, which this host publishes elsewhere: tls.e2e.test.ts runs it.)
    const rotate = await relay(['token', 'rotate', 'default', ...target(), '--grace', '10m', '--save', '.env.local']);
    expect(rotate.exitCode, ok(rotate)).toBe(0);
    const rotated = await relayToken();
    expect(rotated).not.toBe(token);
    expect((await viaNginx('/v1/models', { headers: { authorization: `Bearer ${rotated}` } })).status).toBe(200);
    expect((await viaNginx('/v1/models', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const list = await relay(['token', 'list', ...target(), '--json']);
    expect(list.exitCode, ok(list)).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ name: string; state: string; previousUntil: string | null }>;
    expect(rows[0]).toMatchObject({ name: 'default', state: 'active' });
    expect(Date.parse(rows[0]!.previousUntil!)).toBeGreaterThan(Date.now() + 8 * 60_000);
    expect(list.stdout).not.toContain(sha256Hex(rotated));
    expect(await onHost('cat /opt/relay/.env')).not.toContain('RELAY_TOKEN');
  }, 900_000);
});

describe('relay settings with deploy --set', () => {
  const chat = async (model: string) => {
    const response = await viaNginx('/v1/chat/completions', {
      method: 'POST',
      headers: { host: '127.0.0.1', authorization: `Bearer ${await relayToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [] }),
    });
    await response.arrayBuffer();
    return response.status;
  };

  it('reach the running relay, stay across a plain re-deploy, and go with --unset', async () => {
    const set = await relay(['deploy', ...target(), '--base-image', nodeImage, '--set', 'RELAY_MODELS=gpt-fake']);
    expect(set.exitCode, ok(set)).toBe(0);
    expect(await chat('gpt-fake')).toBe(200);
    expect(await chat('gpt-other')).toBe(403);
    // Neither the upstream nor the setting is lost when a later deploy does not repeat them.
    const again = await relay(['deploy', ...target(), '--base-image', nodeImage]);
    expect(again.stdout, ok(again)).toContain('no changes');
    expect(await chat('gpt-other')).toBe(403);
    const unset = await relay(['deploy', ...target(), '--base-image', nodeImage, '--unset', 'RELAY_MODELS']);
    expect(unset.exitCode, ok(unset)).toBe(0);
    expect(await chat('gpt-other')).toBe(200);
  }, 600_000);

  it('RELAY_DUMP=bodies: relay logs --dump shows each exchange redacted, plain relay logs does not; off again', async () => {
    const on = await relay(['deploy', ...target(), '--base-image', nodeImage, '--set', 'RELAY_DUMP=bodies']);
    expect(on.exitCode, ok(on)).toBe(0);
    expect(await chat('gpt-fake')).toBe(200);
    const dump = await relay(['logs', ...target(), '--dump', '-n', '30']);
    expect(dump.exitCode, ok(dump)).toBe(0);
    const lines = dump.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(lines.every((line) => line.msg === 'dump')).toBe(true);
    expect(lines.find((line) => line.path === '/v1/chat/completions')).toMatchObject({
      status: 200,
      token: 'default',
      request: { headers: { authorization: 'Bearer [redacted]' }, body: { model: 'gpt-fake', messages: [] } },
      response: { body: { object: 'chat.completion' } },
    });
    const plain = await relay(['logs', ...target(), '-n', '30']);
    expect(plain.stdout).toContain('"msg":"request"');
    expect(plain.stdout).not.toContain('"msg":"dump"');
    const off = await relay(['deploy', ...target(), '--base-image', nodeImage, '--set', 'RELAY_DUMP=off']);
    expect(off.exitCode, ok(off)).toBe(0);
    expect(await chat('gpt-fake')).toBe(200);
    // The container was started again without it: no dump line since.
    expect((await relay(['logs', ...target(), '--dump'])).stdout).toBe('');
  }, 900_000);

  it('refuses a key that is not a relay setting, changing nothing', async () => {
    const r = await relay(['deploy', ...target(), '--base-image', nodeImage, '--set', 'OTHER_SECRET=x']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('OTHER_SECRET is not a relay setting');
  });
});

describe('the sentinel OPENAI_API_KEY', () => {
  it('appears in no CLI output and no log on the host', async () => {
    const everything = transcript.join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(OTHER_VALUE);
    const logs = await host.exec('docker logs relay 2>&1; journalctl --no-pager 2>/dev/null; cat /var/log/nginx/*.log 2>/dev/null', { timeoutMs: 60_000 });
    expect(logs.stdout.length).toBeGreaterThan(0);
    expect(logs.stdout).not.toContain(KEY);
  });
});
