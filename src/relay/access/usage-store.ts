// Usage per token and model, kept on the host in SQLite (Node's built-in node:sqlite: no
// dependency, one file in RELAY_DATA_DIR that survives restarts). Counted per hour; the hot path
// only adds to an in-memory map, written in one transaction a second (and on close).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
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
  lastUsed(): Record<string, string>;
  /** Writes what is buffered (done every second on its own). */
  flush(): void;
  close(): void;
}

type Sqlite = typeof import('node:sqlite');

async function loadSqlite(): Promise<Sqlite> {
  try {
    // Loaded on demand: `relay serve` on a Node 22 without node:sqlite still runs without a store.
    return await import('node:sqlite');
  } catch (error) {
    throw new ConfigError(`RELAY_DATA_DIR needs node:sqlite, which this Node (${process.version}) lacks.`, { fix: 'Use Node 24 (the relay image does), or unset RELAY_DATA_DIR.', cause: error });
  }
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

interface Pending {
  hour: number;
  token: string;
  model: string;
  requests: number;
  errors: number;
  prompt: number;
  completion: number;
  notReported: number;
  bytesIn: number;
  bytesOut: number;
}

export interface UsageStoreOptions {
  flushMs?: number;
  /** Open an existing store for reading only (the `usage` subcommand beside a running relay). */
  readOnly?: boolean;
}

export async function openUsageStore(dataDir: string, options: UsageStoreOptions = {}): Promise<UsageStore> {
  const { DatabaseSync } = await loadSqlite();
  const path = join(dataDir, USAGE_DB);
  let db: DatabaseSync;
  if (options.readOnly) {
    db = new DatabaseSync(path, { readOnly: true });
  } else {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    db = new DatabaseSync(path);
    // WAL: the relay writes while `usage` reads from another process; NORMAL: an OS crash may lose the last second, never corrupt.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    db.exec(SCHEMA);
  }
  db.exec('PRAGMA busy_timeout = 2000;');
  return createStore(db, options);
}

function createStore(db: DatabaseSync, options: UsageStoreOptions): UsageStore {
  const pending = new Map<string, Pending>();
  const lastSeen = new Map<string, number>();
  let upsert: StatementSync | undefined;
  let touch: StatementSync | undefined;
  if (!options.readOnly) {
    upsert = db.prepare(`INSERT INTO usage (hour, token, model, requests, errors, prompt_tokens, completion_tokens, not_reported, bytes_in, bytes_out)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (hour, token, model) DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
        not_reported = not_reported + excluded.not_reported, bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out`);
    touch = db.prepare('INSERT INTO last_used (token, at) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET at = max(at, excluded.at)');
  }
  const select = db.prepare(`SELECT token, model, sum(requests) AS requests, sum(errors) AS errors, sum(prompt_tokens) AS prompt,
      sum(completion_tokens) AS completion, sum(not_reported) AS not_reported, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out
    FROM usage WHERE hour >= ? GROUP BY token, model ORDER BY token, model`);
  const selectLastUsed = db.prepare('SELECT token, at FROM last_used ORDER BY token');

  const flush = () => {
    if (pending.size === 0 && lastSeen.size === 0) return;
    db.exec('BEGIN');
    try {
      for (const p of pending.values()) upsert!.run(p.hour, p.token, p.model, p.requests, p.errors, p.prompt, p.completion, p.notReported, p.bytesIn, p.bytesOut);
      for (const [token, at] of lastSeen) touch!.run(token, at);
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

  const lastUsed = () => {
    flushIfWritable();
    const out: Record<string, string> = {};
    for (const row of selectLastUsed.all() as Array<{ token: string; at: number }>) out[row.token] = new Date(row.at).toISOString();
    return out;
  };
  const flushIfWritable = () => {
    if (!options.readOnly) flush();
  };

  return {
    record(entry) {
      const hour = Math.floor(entry.at / HOUR_MS) * HOUR_MS;
      const model = entry.model ?? '';
      const key = `${hour}\u0000${entry.token}\u0000${model}`;
      let p = pending.get(key);
      if (p === undefined) {
        p = { hour, token: entry.token, model, requests: 0, errors: 0, prompt: 0, completion: 0, notReported: 0, bytesIn: 0, bytesOut: 0 };
        pending.set(key, p);
      }
      p.requests++;
      if (entry.error) p.errors++;
      if (entry.usage === 'not_reported') p.notReported++;
      else if (entry.usage !== undefined) {
        p.prompt += entry.usage.prompt;
        p.completion += entry.usage.completion;
      }
      p.bytesIn += entry.bytesIn;
      p.bytesOut += entry.bytesOut;
      lastSeen.set(entry.token, Math.max(lastSeen.get(entry.token) ?? 0, entry.at));
    },
    summary({ since }) {
      flushIfWritable();
      const from = Math.floor(since / HOUR_MS) * HOUR_MS;
      const rows = (select.all(from) as Array<Record<string, number | string>>).map(
        (row): UsageRow => ({
          token: String(row.token),
          model: String(row.model),
          requests: Number(row.requests),
          errors: Number(row.errors),
          promptTokens: Number(row.prompt),
          completionTokens: Number(row.completion),
          notReported: Number(row.not_reported),
          bytesIn: Number(row.bytes_in),
          bytesOut: Number(row.bytes_out),
        }),
      );
      return { from: new Date(from).toISOString(), rows, lastUsed: lastUsed() };
    },
    lastUsed,
    flush: flushIfWritable,
    close() {
      clearInterval(timer);
      flushIfWritable();
      db.close();
    },
  };
}
