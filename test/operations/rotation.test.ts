// relay rotate-token as data: RELAY_TOKEN is the "default" entry of the host's tokens.json, rotated
// there like any token (hash only, grace kept as the previous hash); the host's .env is not touched.
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDeployEnv } from '../../src/deploy-env.js';
import { LocalHost } from '../../src/host/local-host.js';
import { prepareRotation } from '../../src/operations/rotate-token.js';
import { emptyTokensFile, parseTokensFile, renderTokensFile, withDefaultToken } from '../../src/shared/tokens-file.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const NOW = Date.parse('2026-01-01T00:00:00Z');

async function appDirWith(files: Record<string, string>): Promise<string> {
  const appDir = await mkdtemp(join(tmpdir(), 'relay-rotate-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(appDir, name), text, { mode: 0o600 });
  return appDir;
}

const host = new LocalHost({ sudo: false });
const env = renderDeployEnv({ OPENAI_API_KEY: 'sk-key', OPENAI_BASE_URL: 'https://upstream.example', settings: { RELAY_MODELS: 'gpt-4o-mini', RELAY_METRICS_TOKEN: 'metrics-secret' } });
const tokens = renderTokensFile(withDefaultToken(emptyTokensFile(), sha256('old-token'), NOW - 1000));

describe('relay rotate-token', () => {
  it('writes a new "default" hash to tokens.json, the old one kept for the grace, and signals the relay instead of restarting it', async () => {
    const appDir = await appDirWith({ '.env': env, 'tokens.json': tokens });
    const rotation = await prepareRotation(host, appDir, 600_000, NOW, 'old-token');
    const files = rotation.steps.flatMap((step) => step.files ?? []);
    expect(files.map(({ path, mode, owner }) => ({ path, mode, owner }))).toEqual([{ path: `${appDir}/tokens.json`, mode: '0600', owner: 'root:root' }]);
    expect(parseTokensFile(String(files[0]!.content)).tokens).toEqual([
      { name: 'default', sha256: sha256(rotation.newToken), created: new Date(NOW - 1000).toISOString(), previous: { sha256: sha256('old-token'), until: '2026-01-01T00:10:00.000Z' } },
    ]);
    expect(rotation.steps.at(-1)!.apply).toEqual(['docker kill --signal HUP relay >/dev/null']);
    expect(rotation.steps.flatMap((step) => step.apply).join('\n')).not.toMatch(/restart|up -d/);
    expect(JSON.stringify(rotation.steps)).not.toContain(rotation.newToken);
    expect(rotation.oldToken).toBe('old-token');
    expect(rotation.oldValidUntil).toEqual(new Date('2026-01-01T00:10:00.000Z'));
  });

  it('drops an earlier grace at once without --grace, and does not know an old token .env.local does not hold', async () => {
    const appDir = await appDirWith({ '.env': env, 'tokens.json': tokens });
    const rotation = await prepareRotation(host, appDir, 0, NOW, 'not-the-host-token');
    expect(parseTokensFile(String(rotation.steps[0]!.files![0]!.content)).tokens[0]!.previous).toBeUndefined();
    expect(rotation.oldToken).toBeUndefined();
    expect(rotation.oldValidUntil).toBeUndefined();
  });

  it('refuses a host whose tokens.json has no "default" yet, before changing anything', async () => {
    const appDir = await appDirWith({ '.env': `${env}RELAY_TOKEN=legacy\n` });
    await expect(prepareRotation(host, appDir, 0, NOW)).rejects.toThrow(expect.objectContaining({ fix: expect.stringMatching(/relay deploy/) }));
  });
});
