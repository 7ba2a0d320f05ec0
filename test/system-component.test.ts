// A suite that needs a system component skips on a machine without it, naming the package; in
// CI (RELAY_TEST_REQUIRE_SYSTEM=1) the same absence fails instead.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasSystemComponent, REQUIRE_SYSTEM } from './support/system-component.js';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('a system component a suite needs', () => {
  it('is found on PATH or in /usr/sbin', () => {
    expect(hasSystemComponent('sh', 'dash')).toBe(true);
    expect(hasSystemComponent('/bin/sh', 'dash')).toBe(true);
  });

  it('when missing, skips the suite with one line naming the package', () => {
    vi.stubEnv(REQUIRE_SYSTEM, '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(hasSystemComponent('relay-no-such-server', 'relay-no-such-package')).toBe(false);
    expect(warn.mock.calls).toEqual([['skipped: relay-no-such-server is not installed (apt-get install relay-no-such-package)']]);
  });

  it('when missing in CI, fails instead of skipping', () => {
    vi.stubEnv(REQUIRE_SYSTEM, '1');
    expect(() => hasSystemComponent('relay-no-such-server', 'relay-no-such-package')).toThrow(/apt-get install relay-no-such-package.*forbids skipping/);
  });
});
