// `relay usage`: requests, tokens, errors and bytes per token and model, from the relay's store.
import type { Command } from 'commander';
import { readUsage } from '../operations/tokens.js';
import type { UsageReport } from '../shared/usage-report.js';
import { printJson, printTable, terminalSafe } from './output.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { durationOption } from './flags.js';

interface UsageFlags extends TargetOptions {
  /** Milliseconds. */
  since: number;
  json?: boolean;
}

export function registerUsage(program: Command): void {
  const command = program
    .command('usage')
    .description('Show usage per token and model: requests, prompt/completion tokens, errors, bytes.')
    .addOption(durationOption('--since <duration>', 'how far back, e.g. 1h, 24h, 30d (counted by the hour)', { example: '24h', positive: true }).default(24 * 3_600_000, '24h'))
    .option('--json', 'print the report as JSON');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Streams that did not ask for usage (stream_options.include_usage) are counted as "not reported":
their tokens are not guessed. Passthrough relays (RELAY_MODE=passthrough) keep no usage.

Examples:
  $ relay usage
  $ relay usage --since 30d --json | jq '.rows[] | select(.token == "ci-bot")'`,
    )
    .action(async (flags: UsageFlags) => {
      const report = await withHost(flags, (host) => readUsage(host, `${Math.ceil(flags.since / 1_000)}s`));
      if (flags.json) printJson(report);
      else printReport(report);
    });
}

function printReport(report: UsageReport): void {
  // Token and model names come from the host, and models from what clients sent: no control characters.
  process.stdout.write(`Usage since ${terminalSafe(report.from)}\n`);
  if (report.rows.length === 0) {
    process.stdout.write('No requests in that time.\n');
    return;
  }
  const table = [['TOKEN', 'MODEL', 'REQUESTS', 'ERRORS', 'PROMPT', 'COMPLETION', 'NOT REPORTED', 'BYTES OUT']];
  for (const r of report.rows) {
    const counts = [r.requests, r.errors, r.promptTokens, r.completionTokens, r.notReported, r.bytesOut];
    table.push([r.token, r.model || '-', ...counts.map(String)]);
  }
  printTable(table, { alignRight: [2, 3, 4, 5, 6, 7] });
}
