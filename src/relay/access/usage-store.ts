// Usage per token and model, kept on the host in SQLite (Node's built-in node:sqlite: no
// dependency, one file in RELAY_DATA_DIR that survives restarts), counted per hour.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { ConfigError } from '../../shared/errors.js';
import type { UsageRow, UsageSummary } from '../../shared/usage-report.js';
import type { TokenCounts } from './usage-tap.js';

export const USAGE_DB = 'usage.sqlite';
const HOUR_MS = 3_600_000;

export interface UsageRecord {
  token: string;
  /** '' when the response did not say. */
  model: string | undefined;
  /** epoch ms the request ended. */
  at: number;
  /** Upstream answered >= 400, or the exchange failed (502/504, cut stream). */
  error: boolean;
  usage: TokenCounts | 'not_reported' | undefined;
  bytesIn: number;
  bytesOut: number;
}

export interface UsageStore {
  record(entry: UsageRecord): void;
  summary(options: { since: number }): UsageSummary;
  /** Writes what is buffered (done every second on its own). */
  flush(): void;
  close(): void;
}

export interface UsageStoreOptions {
  flushMs?: number;
  /** Open an existing store for reading only (the `usage` subcommand beside a running relay). */
  readOnly?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS usage (
  hour INTEGER NOT NULL,
  token TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  not_reported INTEGER NOT NULL DEFAULT 0,
  bytes_in INTEGER NOT NULL DEFAULT 0,
  bytes_out INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, token, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS last_used (token TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
`;

const UPSERT = `INSERT INTO usage (hour, token, model, requests, errors, prompt_tokens, completion_tokens, not_reported, bytes_in, bytes_out)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (hour, token, model) DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
    not_reported = not_reported + excluded.not_reported, bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out`;
const TOUCH = 'INSERT INTO last_used (token, at) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET at = max(at, excluded.at)';
const SUMMARY = `SELECT token, model, sum(requests) AS requests, sum(errors) AS errors, sum(prompt_tokens) AS promptTokens,
    sum(completion_tokens) AS completionTokens, sum(not_reported) AS notReported, sum(bytes_in) AS bytesIn, sum(bytes_out) AS bytesOut
  FROM usage WHERE hour >= ? GROUP BY token, model ORDER BY token, model`;
const LAST_USED = 'SELECT token, at FROM last_used ORDER BY token';

export async function openUsageStore(dataDir: string, options: UsageStoreOptions = {}): Promise<UsageStore> {
  let sqlite: typeof import('node:sqlite');
  try {
    // Loaded on demand: `relay serve` on a Node 22 without node:sqlite still runs without a store.
    sqlite = await import('node:sqlite');
  } catch (error) {
    throw new ConfigError(`RELAY_DATA_DIR needs node:sqlite, which this Node (${process.version}) lacks.`, {
      fix: 'Use Node 24 (the relay image does), or unset RELAY_DATA_DIR.',
      cause: error,
    });
  }
  const path = join(dataDir, USAGE_DB);
  if (options.readOnly) return createStore(new sqlite.DatabaseSync(path, { readOnly: true }), options);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new sqlite.DatabaseSync(path);
  // WAL: the relay writes while `usage` reads from another process; NORMAL: an OS crash may lose the last second, never corrupt.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  db.exec(SCHEMA);
  return createStore(db, options);
}

function createStore(db: DatabaseSync, options: UsageStoreOptions): UsageStore {
  db.exec('PRAGMA busy_timeout = 2000;');
  // Requests are summed in memory and written once a second: a write per request (~56 µs in a
  // loop here) would cost a third of a request's CPU in the relay.
  const pending = new Map<string, UsageRow & { hour: number }>();
  const lastSeen = new Map<string, number>();
  const upsert = options.readOnly ? undefined : db.prepare(UPSERT);
  const touch = options.readOnly ? undefined : db.prepare(TOUCH);

  const flush = () => {
    if (upsert === undefined || touch === undefined || (pending.size === 0 && lastSeen.size === 0)) return;
    db.exec('BEGIN');
    try {
      for (const p of pending.values())
        upsert.run(p.hour, p.token, p.model, p.requests, p.errors, p.promptTokens, p.completionTokens, p.notReported, p.bytesIn, p.bytesOut);
      for (const [token, at] of lastSeen) touch.run(token, at);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    pending.clear();
    lastSeen.clear();
  };
  const timer = options.readOnly ? undefined : setInterval(flush, options.flushMs ?? 1_000);
  timer?.unref();

  return {
    record(entry) {
      const hour = Math.floor(entry.at / HOUR_MS) * HOUR_MS;
      const model = entry.model ?? '';
      const key = `${hour}\u0000${entry.token}\u0000${model}`;
      let p = pending.get(key);
      if (p === undefined) {
        p = { hour, token: entry.token, model, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, notReported: 0, bytesIn: 0, bytesOut: 0 };
        pending.set(key, p);
      }
      p.requests++;
      if (entry.error) p.errors++;
      if (entry.usage === 'not_reported') p.notReported++;
      else if (entry.usage !== undefined) {
        p.promptTokens += entry.usage.prompt;
        p.completionTokens += entry.usage.completion;
      }
      p.bytesIn += entry.bytesIn;
      p.bytesOut += entry.bytesOut;
      lastSeen.set(entry.token, Math.max(lastSeen.get(entry.token) ?? 0, entry.at));
    },
    summary({ since }) {
      flush();
      const from = Math.floor(since / HOUR_MS) * HOUR_MS;
      const lastUsed: Record<string, string> = {};
      for (const row of db.prepare(LAST_USED).all() as Array<{ token: string; at: number }>) lastUsed[row.token] = new Date(row.at).toISOString();
      return { from: new Date(from).toISOString(), rows: db.prepare(SUMMARY).all(from) as unknown as UsageRow[], lastUsed };
    },
    flush,
    close() {
      clearInterval(timer);
      flush();
      db.close();
    },
  };
}
