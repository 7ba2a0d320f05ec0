import { describe, expect, it } from 'vitest';
import { formatLine, jsonLogger } from '../../src/relay/log.js';

describe('the relay log line', () => {
  it('is the JSON that JSON.stringify would write, undefined fields left out', () => {
    const fields = { method: 'POST', path: '/v1/chat "quoted" \\ \n', token: undefined, status: 200, duration_ms: 1.5, open: false, none: null, inf: Infinity };
    const line = formatLine('2026-11-22T03:00:00.000Z', 'info', 'request "x"', fields);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify({ time: '2026-11-22T03:00:00.000Z', level: 'info', msg: 'request "x"', ...fields })));
    expect(line).not.toContain('token');
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
