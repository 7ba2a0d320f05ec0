// `node relay-server.mjs usage [--since 24h] [--json]`: the relay bundle reading its own usage
// store, so `relay usage` on the operator's machine needs only `docker exec relay ...`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../../shared/duration.js';
import { ConfigError } from '../../shared/errors.js';
import type { UsageReport } from '../../shared/usage-report.js';
import { openUsageStore, USAGE_DB } from './usage-store.js';

export const USAGE_SUBCOMMAND = 'usage';
const NO_DATA_DIR_FIX = 'Set RELAY_DATA_DIR to a writable volume (see compose.yaml) and restart the relay.';

export function parseUsageArgs(args: string[]): { sinceMs: number; json: boolean } {
  let sinceMs = 24 * 3_600_000;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--since') sinceMs = parseDuration(args[++i] ?? '', '--since');
    else if (arg.startsWith('--since=')) sinceMs = parseDuration(arg.slice('--since='.length), '--since');
    else throw new ConfigError(`usage: unknown argument "${arg}"`, { fix: 'usage [--since 24h] [--json]' });
  }
  return { sinceMs, json };
}

export async function readUsageReport(dataDir: string, sinceMs: number, now = Date.now()): Promise<UsageReport> {
  const since = now - sinceMs;
  const sinceIso = new Date(since).toISOString();
  if (!existsSync(join(dataDir, USAGE_DB))) return { since: sinceIso, from: sinceIso, rows: [], lastUsed: {} };
  const store = await openUsageStore(dataDir, { readOnly: true });
  try {
    return { since: sinceIso, ...store.summary({ since }) };
  } finally {
    store.close();
  }
}

const toStdout = (text: string): void => void process.stdout.write(text);

/** Runs the subcommand (main.ts); returns the exit code. */
export async function runUsageCommand(args: string[], env: NodeJS.ProcessEnv, write = toStdout): Promise<number> {
  const dataDir = env.RELAY_DATA_DIR?.trim();
  let options: { sinceMs: number; json: boolean };
  try {
    options = parseUsageArgs(args);
    if (!dataDir) throw new ConfigError('RELAY_DATA_DIR is not set: this relay keeps no usage.', { fix: NO_DATA_DIR_FIX });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    write(`${JSON.stringify({ error: error.message, fix: error.fix })}\n`);
    return 2;
  }
  const report = await readUsageReport(dataDir, options.sinceMs);
  if (options.json) {
    write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  write(`usage since ${report.from}\n`);
  for (const row of report.rows) {
    const tokens = `${row.promptTokens}+${row.completionTokens} tokens${row.notReported ? `\t${row.notReported} not reported` : ''}`;
    write(`${row.token}\t${row.model || '-'}\t${row.requests} requests\t${row.errors} errors\t${tokens}\n`);
  }
  return 0;
}
