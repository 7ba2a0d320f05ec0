// The one executor: runs plan steps over a Host, skipping what is already in place. It reports
// progress through events and never prints; failures are StepFailedErrors that carry the fix.
import { createHash } from 'node:crypto';
import { RelayError, StepFailedError } from '../shared/errors.js';
import type { FileSpec, Host } from '../host/host.js';
import { shScript } from '../host/shell.js';
import type { Step, StepOutcome } from './step.js';

export interface PlanEvents {
  onStepStart?(step: Step): void;
  /** `detail` says what changed ("wrote /etc/nginx/...; ran 2 commands") or why it failed. */
  onStepEnd?(step: Step, outcome: StepOutcome, durationMs: number, detail?: string): void;
}

export interface StepReport {
  id: string;
  title: string;
  outcome: Exclude<StepOutcome, 'failed'>;
  durationMs: number;
  /** Files written because their content, mode or owner differed. */
  changedFiles: string[];
}

export interface PlanResult {
  steps: StepReport[];
  changed: number;
  unchanged: number;
  durationMs: number;
}

const STDERR_LINES = 12;

export async function runPlan(host: Host, steps: Step[], events: PlanEvents = {}): Promise<PlanResult> {
  const started = performance.now();
  const reports: StepReport[] = [];
  for (const step of steps) {
    events.onStepStart?.(step);
    const stepStarted = performance.now();
    try {
      const report = await runStep(host, step);
      const durationMs = performance.now() - stepStarted;
      reports.push({ ...report, durationMs });
      events.onStepEnd?.(step, report.outcome, durationMs, report.detail);
    } catch (error) {
      events.onStepEnd?.(step, 'failed', performance.now() - stepStarted, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }
  const changed = reports.filter((report) => report.outcome === 'changed').length;
  return { steps: reports, changed, unchanged: reports.length - changed, durationMs: performance.now() - started };
}

async function runStep(host: Host, step: Step): Promise<Omit<StepReport, 'durationMs'> & { detail?: string }> {
  const files = step.files ?? [];
  const asRoot = step.stdin === undefined ? { sudo: true } : { sudo: true, stdin: step.stdin };
  const checkPassed = step.check === undefined ? files.length > 0 : (await host.run(step.check, asRoot)).code === 0;
  const drift = await fileDrift(host, step, files);
  const base = { id: step.id, title: step.title };
  if (checkPassed && drift.length === 0) return { ...base, outcome: 'unchanged', changedFiles: [] };

  for (const { file } of drift) {
    try {
      await host.writeFile(file);
    } catch (error) {
      if (!(error instanceof RelayError)) throw error;
      throw stepFailed(step, `write ${file.path}`, error.message, 'could not be written');
    }
  }
  for (const command of step.apply) {
    // `set -e`: a multi-line command stops at its first failing line, like the list of commands does.
    const result = await host.run(`set -e\n${command}`, asRoot);
    if (result.code !== 0) throw stepFailed(step, command, result.stderr, `exited with ${exitText(result.code)}`);
  }
  if (step.check !== undefined) {
    const recheck = await host.run(step.check, asRoot);
    if (recheck.code !== 0) {
      throw stepFailed(step, step.check, recheck.stderr, `still fails after applying the step (${exitText(recheck.code)})`);
    }
  }
  const parts = [
    drift.length > 0 ? `wrote ${drift.map(({ file, why }) => `${file.path} (${why})`).join(', ')}` : undefined,
    step.apply.length > 0 ? `ran ${step.apply.length} command${step.apply.length === 1 ? '' : 's'}` : undefined,
  ].filter((part) => part !== undefined);
  return { ...base, outcome: 'changed', changedFiles: drift.map(({ file }) => file.path), detail: parts.join('; ') };

  function stepFailed(failing: Step, command: string, stderr: string, what: string): StepFailedError {
    const tail = scrub(stderr, failing.files ?? []).trim().split('\n').slice(-STDERR_LINES).join('\n');
    const output = tail === '' ? ' (no error output)' : `:\n${tail}`;
    return new StepFailedError(`step "${failing.title}" failed on ${host.label}: ${shownCommand(command)} ${what}${output}`, {
      stepId: failing.id,
      command,
      fix: failing.fix ?? 'fix the cause above, then run the command again; steps already done are skipped',
    });
  }
}

interface Drift {
  file: FileSpec;
  why: string;
}

// One round trip per step: digest, mode and owner of every file, or "missing".
const PROBE_SCRIPT = `for f in "$@"; do
  if [ -f "$f" ]; then
    printf '%s %s\\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$(stat -L -c '%a %U:%G %u:%g' -- "$f")"
  else
    echo missing
  fi
done`;

async function fileDrift(host: Host, step: Step, files: FileSpec[]): Promise<Drift[]> {
  if (files.length === 0) return [];
  const probe = await host.run(shScript(PROBE_SCRIPT, files.map((file) => file.path), 'relay-probe'), { sudo: true });
  const lines = probe.stdout.split('\n');
  if (probe.code !== 0 || lines.length < files.length) {
    throw new StepFailedError(`step "${step.title}" failed on ${host.label}: could not inspect its files: ${probe.stderr.trim()}`, {
      stepId: step.id,
      command: 'inspect files',
    });
  }
  const drift: Drift[] = [];
  files.forEach((file, index) => {
    const why = differences(file, lines[index]!);
    if (why) drift.push({ file, why });
  });
  return drift;
}

function differences(file: FileSpec, probed: string): string | undefined {
  if (probed.trim() === 'missing') return 'new';
  const [digest, mode, names, ids] = probed.trim().split(' ');
  const reasons: string[] = [];
  if (digest !== sha256(file.content)) reasons.push('content');
  if (mode === undefined || parseInt(mode, 8) !== parseInt(file.mode, 8)) reasons.push(`mode ${mode} -> ${file.mode}`);
  if (!ownerMatches(file.owner, names, ids)) reasons.push(`owner ${names} -> ${file.owner}`);
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}

// Plans may name the owner or give ids ('root:root', '0:0', 'root:0'); each side may match either.
function ownerMatches(wanted: string, names: string | undefined, ids: string | undefined): boolean {
  const [user, group] = wanted.split(':');
  const [userName, groupName] = (names ?? '').split(':');
  const [userId, groupId] = (ids ?? '').split(':');
  return (user === userName || user === userId) && (group === undefined || group === groupName || group === groupId);
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

// A multi-line script is named by its first line: the error output below says what went wrong,
// and pasting the whole script (twice, for polling steps) buries it.
function shownCommand(command: string): string {
  const lines = command.split('\n');
  return lines.length === 1 ? `\`${command}\`` : `\`${lines[0]} …\` (a ${lines.length}-line script)`;
}

function exitText(code: number | null): string {
  return code === null ? 'a signal' : `code ${code}`;
}

// Error output can echo a file back (nginx -t quotes config lines); files may hold secrets.
function scrub(text: string, files: FileSpec[]): string {
  let scrubbed = text;
  for (const file of files) {
    const lines = file.content.toString('utf8').split('\n').map((line) => line.trim());
    const values = lines.flatMap((line) => /^[A-Za-z_][A-Za-z0-9_]*=(.{4,})$/.exec(line)?.[1] ?? []);
    for (const secret of [...lines.filter((line) => line.length >= 8), ...values].sort((a, b) => b.length - a.length)) {
      scrubbed = scrubbed.replaceAll(secret, '[file content]');
    }
  }
  return scrubbed;
}
