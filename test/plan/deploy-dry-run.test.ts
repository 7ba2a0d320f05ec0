// `relay deploy --dry-run` run as the operator runs it: the built CLI, in a directory holding
// .env.local, against a host it must never connect to.
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const KEY = 'sk-test-SENTINEL-9b7e11';
const OTHER_VALUE = 'other-secret-SENTINEL-3c5d';

describe('relay deploy --dry-run', () => {
  it('prints the plan without connecting, and without the key, the token or other lines of .env.local', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-dry-run-'));
    await writeFile(join(dir, '.env.local'), `OTHER_SECRET=${OTHER_VALUE}\nOPENAI_API_KEY=${KEY}\n`);
    // 203.0.113.7 is TEST-NET-3: nothing answers there, so a connection attempt would fail the test.
    const out = execFileSync(process.execPath, [resolve('bin/relay.js'), 'deploy', '--dry-run', '--host', 'root@203.0.113.7', '--yes'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(out).toContain('Upload the relay and build and start its container [app.container]');
    expect(out).toContain('/opt/relay/.env  0600 root:root');
    expect(out).toContain('Configure the nginx vhost for 203.0.113.7');
    expect(out).not.toContain(KEY);
    expect(out).not.toContain('OTHER_SECRET');
    expect(out).not.toContain(OTHER_VALUE);
  });
});
