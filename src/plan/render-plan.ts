// `--dry-run`: the plan as text an operator can review. Files are described, never shown: an env
// file holds the API key.
import type { Step } from './step.js';
import { sha256 } from './executor.js';
import { redactUrlCredentials } from '../shared/url-credentials.js';

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

// The relay bundle is code, not configuration: its size says enough.
const BUNDLE_FILES = /\/relay-(server\.mjs|core\.cjs|tokenizer\.cjs)$/;

/**
 * `--dry-run --show-files`: every file the plan writes, in full. Only for plans built from
 * placeholders (dryRunDeployPlan): a real plan's .env holds the API key.
 */
export function describeFiles(steps: Step[], options: { hiddenSettings?: string[] } = {}): string {
  const files = steps.flatMap((step) => step.files ?? []);
  // Settings the operator kept out of argv (--set-from-env, --generate) stay out of the output too.
  const hidden = new Set(options.hiddenSettings ?? []);
  // A URL's credentials (a proxy's, Redis's) never show, whichever way the setting came.
  const hide = (text: string) =>
    redactUrlCredentials(text.replace(/^([A-Z0-9_]+)=.*$/gm, (line, name: string) => (hidden.has(name) ? `${name}=<hidden>` : line)));
  return files
    .map((file) => {
      const head = `--- ${file.path}  ${file.mode} ${file.owner}`;
      if (BUNDLE_FILES.test(file.path)) return `${head}  (the relay bundle, ${file.content.length} bytes)\n`;
      const text = file.path.endsWith('/.env') ? hide(file.content.toString('utf8')) : file.content.toString('utf8');
      return `${head}\n${text}${text.endsWith('\n') || text === '' ? '' : '\n'}`;
    })
    .join('\n');
}
