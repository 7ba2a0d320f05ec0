// The installed `relay` command as a shell runs it: bin/relay.js started through its shebang, so
// every flag the README documents reaches the CLI and none is taken by Node on the way.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve('bin/relay.js');
let work: string;

/** Runs bin/relay.js as an executable (the kernel reads the shebang), with this Node first on PATH. */
async function relay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, NO_COLOR: '1' };
  try {
    const { stdout, stderr } = await promisify(execFile)(BIN, args, { cwd: work, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'relay-bin-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('relay --env-file FILE', () => {
  it('reaches the CLI when the file is missing: relay says what is wrong, not Node', async () => {
    const r = await relay(['deploy', '--dry-run', '--host', 'root@203.0.113.7', '--env-file', 'missing.env']);
    expect(r.stderr).not.toContain('node:');
    expect(r.code).not.toBe(9);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No OPENAI_API_KEY in missing.env');
    const joined = await relay(['deploy', '--dry-run', '--host', 'root@203.0.113.7', '--env-file=missing.env']);
    expect(joined.stderr).toContain('No OPENAI_API_KEY in missing.env');
  });

  it('is read by the CLI, not loaded into the environment by Node', async () => {
    await writeFile(join(work, 'project.env'), 'OPENAI_API_KEY=sk-from-project-env\n');
    const r = await relay(['deploy', '--dry-run', '--host', 'root@203.0.113.7', '--env-file', 'project.env']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Plan (nothing is changed');
    expect(r.stdout + r.stderr).not.toContain('sk-from-project-env');
  });
});
