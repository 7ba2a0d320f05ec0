// `--dry-run`: the plan as text an operator can review. Files are described, never shown: an env
// file holds the API key.
import type { Step } from './step.js';
import { sha256 } from './executor.js';

export function describePlan(steps: Step[]): string {
  return steps.map((step, index) => describeStep(step, index + 1)).join('\n\n') + '\n';
}

function describeStep(step: Step, number: number): string {
  const lines = [`${number}. ${step.title} [${step.id}]`];
  lines.push(step.check === undefined ? '   check: (decided by its files)' : `   check: ${indent(step.check)}`);
  for (const file of step.files ?? []) {
    const text = file.content.toString('utf8');
    const lineCount = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    lines.push(`   file:  ${file.path}  ${file.mode} ${file.owner}  (${lineCount} lines, sha256 ${sha256(file.content).slice(0, 12)})`);
  }
  for (const command of step.apply) lines.push(`   apply: ${indent(command)}`);
  if (step.apply.length === 0) lines.push('   apply: (nothing besides its files)');
  return lines.join('\n');
}

// Multi-line commands stay readable under their label.
function indent(command: string): string {
  return command.trim().split('\n').join('\n          ');
}
