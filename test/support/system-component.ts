// Suites that drive a system component for real (sshd, nginx, redis-server, pebble, gpg) skip on a
// machine without it, with one line naming the Debian package to install. CI installs them all
// and sets RELAY_TEST_REQUIRE_SYSTEM=1 (.ci/run), which turns such a skip into a failure.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const REQUIRE_SYSTEM = 'RELAY_TEST_REQUIRE_SYSTEM';

function onPath(command: string): boolean {
  const dirs = command.includes('/') ? [''] : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => {
    try {
      accessSync(dir === '' ? command : join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * True when `command` is installed. Otherwise prints why the suite is skipped and returns false,
 * or throws when RELAY_TEST_REQUIRE_SYSTEM=1 (CI must never skip what it installed).
 */
export function hasSystemComponent(command: string, aptPackage: string): boolean {
  if (onPath(command)) return true;
  const why = `${command} is not installed (apt-get install ${aptPackage})`;
  if (process.env[REQUIRE_SYSTEM] === '1') throw new Error(`${why}, and ${REQUIRE_SYSTEM}=1 forbids skipping the tests that need it.`);
  console.warn(`skipped: ${why}`);
  return false;
}
