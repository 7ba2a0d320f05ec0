import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepFailedError } from '../../src/shared/errors.js';
import { LocalHost } from '../../src/host/local-host.js';
import { runPlan } from '../../src/plan/executor.js';
import { describePlan } from '../../src/plan/render-plan.js';
import type { Step } from '../../src/plan/step.js';

const SECRET = 'sk-sentinel-0123456789abcdef0123456789abcdef';
const owner = `${userInfo().username}:${process.getgid?.() ?? 0}`;

describe('plan executor on a local host', () => {
  let dir: string;
  const host = new LocalHost({ sudo: false });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-exec-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const envStep = (): Step => ({
    id: 'relay.env',
    title: 'Write the relay environment file',
    files: [{ path: join(dir, 'relay', 'env'), content: `OPENAI_API_KEY=${SECRET}\n`, mode: '0600', owner }],
    apply: [`touch ${join(dir, 'applied')}`, `echo x >> ${join(dir, 'count')}`],
  });

  describe('idempotence', () => {
    it('changes a fresh host, then leaves it unchanged', async () => {
      const first = await runPlan(host, [envStep()]);
      expect(first.steps.map((step) => step.outcome)).toEqual(['changed']);
      expect(first.steps[0]!.changedFiles).toEqual([join(dir, 'relay', 'env')]);
      expect(await readFile(join(dir, 'relay', 'env'), 'utf8')).toBe(`OPENAI_API_KEY=${SECRET}\n`);
      expect((await stat(join(dir, 'relay', 'env'))).mode & 0o777).toBe(0o600);

      const second = await runPlan(host, [envStep()]);
      expect(second).toMatchObject({ changed: 0, unchanged: 1, steps: [{ outcome: 'unchanged', changedFiles: [] }] });
      expect(await readFile(join(dir, 'count'), 'utf8')).toBe('x\n');
    });

    it('skips a step whose check passes, runs one whose check fails', async () => {
      const marker = join(dir, 'marker');
      const step: Step = { id: 'marker', title: 'Create the marker', check: `test -e ${marker}`, apply: [`touch ${marker}`] };
      expect((await runPlan(host, [step])).steps[0]!.outcome).toBe('changed');
      expect((await runPlan(host, [step])).steps[0]!.outcome).toBe('unchanged');
    });

    it('runs a step without check or files every time', async () => {
      const step: Step = { id: 'always', title: 'Always', apply: [`echo x >> ${join(dir, 'always')}`] };
      await runPlan(host, [step]);
      await runPlan(host, [step]);
      expect(await readFile(join(dir, 'always'), 'utf8')).toBe('x\nx\n');
    });
  });

  describe('file drift', () => {
    it('rewrites a file whose mode alone changed', async () => {
      await runPlan(host, [envStep()]);
      await chmod(join(dir, 'relay', 'env'), 0o644);
      const ends: Array<string | undefined> = [];
      const result = await runPlan(host, [envStep()], { onStepEnd: (_step, _outcome, _ms, detail) => ends.push(detail) });
      expect(result.steps[0]!.outcome).toBe('changed');
      expect(ends[0]).toContain('mode 644 -> 0600');
      expect((await stat(join(dir, 'relay', 'env'))).mode & 0o777).toBe(0o600);
    });

    it('rewrites a file whose content changed', async () => {
      await runPlan(host, [envStep()]);
      await writeFile(join(dir, 'relay', 'env'), 'tampered\n');
      await chmod(join(dir, 'relay', 'env'), 0o600);
      const result = await runPlan(host, [envStep()]);
      expect(result.steps[0]!.outcome).toBe('changed');
      expect(await readFile(join(dir, 'relay', 'env'), 'utf8')).toBe(`OPENAI_API_KEY=${SECRET}\n`);
    });

    it('rewrites a file whose owner changed', async () => {
      const step = envStep();
      step.files![0]!.owner = 'nobody:nogroup';
      await runPlan(host, [envStep()]);
      const result = await runPlan(host, [step]);
      expect(result.steps[0]!.outcome).toBe('changed');
    });
  });

  describe('failures', () => {
    it('names the step, the command, its stderr and the fix, but never file contents', async () => {
      const step: Step = {
        ...envStep(),
        // The command echoes the file back, as `nginx -t` quotes config lines.
        apply: [`echo "bad config near:" >&2; cat ${join(dir, 'relay', 'env')} >&2; exit 3`, 'touch never'],
        fix: 'check the relay env file on the server',
      };
      const starts: string[] = [];
      const ends: string[] = [];
      const error = await runPlan(host, [step], {
        onStepStart: (s) => starts.push(s.id),
        onStepEnd: (s, outcome) => ends.push(`${s.id}:${outcome}`),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepFailedError);
      const failure = error as StepFailedError;
      expect(failure.message).toContain('Write the relay environment file');
      expect(failure.message).toContain('exited with code 3');
      expect(failure.message).toContain('bad config near');
      expect(failure.fix).toBe('check the relay env file on the server');
      expect(`${failure.message}\n${failure.fix}\n${failure.command}`).not.toContain(SECRET);
      expect(starts).toEqual(['relay.env']);
      expect(ends).toEqual(['relay.env:failed']);
    });

    it('stops at the first failing command, including inside a multi-line command', async () => {
      const after = join(dir, 'after');
      const step: Step = { id: 'multi', title: 'Multi', apply: [`false\ntouch ${after}`, `touch ${after}`] };
      const error = await runPlan(host, [step]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepFailedError);
      expect((error as StepFailedError).command).toBe(`false\ntouch ${after}`);
      await expect(stat(after)).rejects.toThrow();
    });

    it('fails when the check still fails after applying', async () => {
      const step: Step = { id: 'stubborn', title: 'Stubborn service', check: 'echo not running >&2; false', apply: ['true'] };
      const error = await runPlan(host, [step]).catch((e: unknown) => e);
      expect((error as StepFailedError).message).toMatch(/Stubborn service.*still fails after applying[\s\S]*not running/);
      expect((error as StepFailedError).fix).toContain('run the command again');
    });
  });

  describe('dry run', () => {
    it('describes checks, files and commands without file contents', () => {
      const text = describePlan([envStep(), { id: 'svc', title: 'Start it', check: 'systemctl is-active relay', apply: ['systemctl start relay'] }]);
      expect(text).toContain('1. Write the relay environment file [relay.env]');
      expect(text).toMatch(/file: {2}.*relay\/env {2}0600 .* \(1 lines, sha256 [0-9a-f]{12}\)/);
      expect(text).toContain('check: systemctl is-active relay');
      expect(text).toContain('apply: systemctl start relay');
      expect(text).not.toContain(SECRET);
    });
  });
});
