// One structured JSON line per event on stdout. Callers pass only what may be logged:
// never the key, a token, or a body (a dump line's bodies are redacted first: dump.ts, redact.ts).
import { DUMP_MSG } from '../shared/dump-line.js';

export type Fields = Record<string, string | number | boolean | null | undefined>;

/** The one line per request (`{"msg":"request",...}`), its fields in this order. */
export interface RequestEntry {
  method: string | undefined;
  path: string;
  token: string | undefined;
  status: number;
  outcome: string;
  durationMs: number;
  ttfbMs: number | undefined;
  bytesIn: number;
  bytesOut: number;
  requestId: string | undefined;
}

export interface Logger {
  request(entry: RequestEntry): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** `{"msg":"dump",...}`: one exchange, already redacted (RELAY_DUMP). */
  dump(record: Record<string, unknown>): void;
}

/** `{"time":...,"level":...,"msg":...,<fields>}`; undefined fields are left out. */
export function formatLine(time: string, level: string, msg: string, fields: Record<string, unknown> | undefined): string {
  return `${JSON.stringify({ time, level, msg, ...fields })}\n`;
}

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const line = (level: string, msg: string, fields?: Fields) => write(formatLine(new Date().toISOString(), level, msg, fields));
  return {
    request: (entry) =>
      line('info', 'request', {
        method: entry.method,
        path: entry.path,
        token: entry.token,
        status: entry.status,
        outcome: entry.outcome,
        duration_ms: entry.durationMs,
        ttfb_ms: entry.ttfbMs,
        bytes_in: entry.bytesIn,
        bytes_out: entry.bytesOut,
        request_id: entry.requestId,
      }),
    info: (msg, fields) => line('info', msg, fields),
    warn: (msg, fields) => line('warn', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
    dump: (record) => write(formatLine(new Date().toISOString(), 'info', DUMP_MSG, record)),
  };
}
