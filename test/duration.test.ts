import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/shared/duration.js';

describe('durations', () => {
  it.each([['500ms', 500], ['30s', 30_000], ['30', 30_000], ['10m', 600_000], ['2h', 7_200_000], ['30d', 2_592_000_000], ['0', 0], ['1.5s', 1_500]])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, 'X')).toBe(ms);
  });
  it('names the setting when it cannot parse', () => {
    expect(() => parseDuration('soon', '--grace')).toThrow(/--grace/);
  });
});
