import { describe, expect, it } from 'vitest';
import { formatLine, jsonLogger, type RequestEntry } from '../../src/relay/log.js';

describe('the relay log line', () => {
  it('is the JSON that JSON.stringify would write, undefined fields left out', () => {
    const fields = { method: 'POST', path: '/v1/chat "quoted" \\ \n', token: undefined, status: 200, duration_ms: 1.5, open: false, none: null, inf: Infinity };
    const line = formatLine('2026-11-22T03:00:00.000Z', 'info', 'request "x"', fields);
    expect(line.endsWith('\n')).toBe(true);
    expect(line).toBe(`${JSON.stringify({ time: '2026-11-22T03:00:00.000Z', level: 'info', msg: 'request "x"', ...fields })}\n`);
    expect(formatLine('t', 'info', 'plain', { path: '/v1/models', unicode: 'é 😀 \u2028 \ud800', control: '\u0001\u007f' })).toBe(
      `${JSON.stringify({ time: 't', level: 'info', msg: 'plain', path: '/v1/models', unicode: 'é 😀 \u2028 \ud800', control: '\u0001\u007f' })}\n`,
    );
    expect(line).not.toContain('token');
  });

  it('for a request has its fields in a fixed order, undefined ones left out', () => {
    const lines: string[] = [];
    const logger = jsonLogger((line) => lines.push(line));
    const plain: RequestEntry = { method: 'POST', path: '/v1/chat/completions', token: 'default', status: 200, outcome: 'ok', durationMs: 12.3, ttfbMs: 1.2, bytesIn: 84, bytesOut: 480, requestId: 'req_1' };
    const entries: RequestEntry[] = [
      plain,
      { ...plain, token: undefined, ttfbMs: undefined, requestId: undefined, status: 499, outcome: 'client_closed' },
      { ...plain, method: undefined, durationMs: Infinity },
      // Whatever a client or an upstream can put in a path or a request id: quotes, backslashes, control and non-ASCII characters.
      { ...plain, path: '/v1/x "q" \\ \t\u0001 é 😀 \u2028 \ud800', token: 'naïve', requestId: '"}\n{"level":"error"' },
    ];
    for (const entry of entries) {
      const fields = {
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
      };
      logger.request(entry);
      const line = lines.at(-1)!;
      expect(line).toBe(formatLine(JSON.parse(line).time, 'info', 'request', fields));
    }
    expect(JSON.parse(lines[3]!).request_id).toBe(entries[3]!.requestId);
  });

  it('writes one line per event with the current time', () => {
    const lines: string[] = [];
    const logger = jsonLogger((line) => lines.push(line));
    const before = Date.now();
    logger.warn('upstream slow', { ms: 12 });
    logger.error('failed');
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 'warn', msg: 'upstream slow', ms: 12 });
    expect(Date.parse(first.time)).toBeGreaterThanOrEqual(before - 1);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'error', msg: 'failed' });
  });
});

describe('the log clock', () => {
  it('prints the same instant as Date#toISOString, milliseconds included', () => {
    const lines: string[] = [];
    const logger = jsonLogger((line) => lines.push(line));
    for (let i = 0; i < 50; i++) {
      const before = Date.now();
      logger.info('tick');
      const after = Date.now();
      const time = JSON.parse(lines[i]!).time as string;
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(time)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(time)).toBeLessThanOrEqual(after);
    }
  });
});
