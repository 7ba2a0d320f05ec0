// relay rotate-token as data: the new .env and the steps that apply it without a restart.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDeployEnv } from '../../src/deploy-env.js';
import { LocalHost } from '../../src/host/local-host.js';
import { prepareRotation, rotatedEnv, rotationSteps } from '../../src/operations/rotate-token.js';

const current = { OPENAI_API_KEY: 'sk-key', RELAY_TOKEN: 'old', OPENAI_BASE_URL: 'https://api.openai.com' };

describe('relay rotate-token', () => {
  it('replaces the token and drops any earlier grace at once without --grace', () => {
    expect(rotatedEnv({ ...current, RELAY_TOKEN_PREVIOUS: 'older', RELAY_TOKEN_PREVIOUS_UNTIL: '2999-01-01T00:00:00.000Z' }, 'new', 0, 0)).toEqual({ ...current, RELAY_TOKEN: 'new' });
  });

  it('keeps the old token valid until the grace period ends', () => {
    const env = rotatedEnv(current, 'new', 10_000, Date.parse('2026-01-01T00:00:00Z'));
    expect(env).toEqual({ ...current, RELAY_TOKEN: 'new', RELAY_TOKEN_PREVIOUS: 'old', RELAY_TOKEN_PREVIOUS_UNTIL: '2026-01-01T00:00:10.000Z' });
    expect(renderDeployEnv(env)).toContain('RELAY_TOKEN=new\n');
    expect(renderDeployEnv(env)).toContain('RELAY_TOKEN_PREVIOUS=old\nRELAY_TOKEN_PREVIOUS_UNTIL=2026-01-01T00:00:10.000Z\n');
  });

  it('writes the .env root-only and signals the running relay instead of restarting it', () => {
    const [write, reload] = rotationSteps('/opt/relay', 'RELAY_TOKEN=new\n');
    expect(write!.files).toEqual([{ path: '/opt/relay/.env', content: 'RELAY_TOKEN=new\n', mode: '0600', owner: 'root:root' }]);
    expect(reload!.apply).toEqual(['docker kill --signal HUP relay >/dev/null']);
    expect(JSON.stringify([write!.apply, reload!.apply])).not.toMatch(/restart|up -d|RELAY_TOKEN=/);
  });
});

describe('relay rotate-token keeps what the operator set', () => {
  it('rewrites only the token lines of the host\'s .env: --set settings and the upstream stay', async () => {
    const appDir = await mkdtemp(join(tmpdir(), 'relay-rotate-'));
    const before = renderDeployEnv({
      OPENAI_API_KEY: 'sk-key',
      RELAY_TOKEN: 'old-token',
      OPENAI_BASE_URL: 'https://upstream.example',
      settings: { RELAY_MODELS: 'gpt-4o-mini', RELAY_METRICS_TOKEN: 'metrics-secret', RELAY_CORS_ORIGINS: 'https://app.example', RELAY_MODE: 'passthrough' },
    });
    await writeFile(join(appDir, '.env'), before, { mode: 0o600 });
    const rotation = await prepareRotation(new LocalHost({ sudo: false }), appDir, 0, 0);
    const written = rotation.steps.flatMap((step) => step.files ?? []).find((file) => file.path === `${appDir}/.env`)!.content as string;
    expect(written).toBe(before.replace('RELAY_TOKEN=old-token', `RELAY_TOKEN=${rotation.newToken}`));
  });
});
