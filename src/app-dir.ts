// Where the relay lives on the host (--app-dir, or appDir in relay.json). relay owns that directory:
// it resets its mode, writes .env there and mounts all of it into the container. So a system
// directory is refused as a path, before anything connects, and an existing directory relay did not
// create is refused on the host, before anything changes there.
import { ConfigError } from './shared/errors.js';
import { shellQuote } from './host/shell.js';

/** Written into the app directory when relay creates it: the proof that it is relay's. */
export const APP_DIR_MARKER = '.relay-app-dir';

const SAFE_PATH = /^\/[A-Za-z0-9_.\/-]+$/;
// The FHS top level and the system trees below it that hold other software's files.
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/lost+found', '/media', '/mnt', '/opt',
  '/proc', '/root', '/run', '/sbin', '/snap', '/srv', '/sys', '/tmp', '/usr', '/var',
  '/usr/bin', '/usr/include', '/usr/lib', '/usr/libexec', '/usr/local', '/usr/local/bin', '/usr/local/lib', '/usr/sbin', '/usr/share', '/usr/src',
  '/var/backups', '/var/cache', '/var/lib', '/var/local', '/var/lock', '/var/log', '/var/mail', '/var/opt', '/var/run', '/var/spool', '/var/tmp', '/var/www',
]);
// Trees where no directory is relay's to take: configuration, kernel and runtime state, homes.
const SYSTEM_TREES = ['/etc/', '/proc/', '/sys/', '/dev/', '/run/', '/boot/', '/root/', '/var/lib/docker/'];

export const APP_DIR_FIX = 'choose a directory of its own for the relay, e.g. /opt/relay (the default) or /srv/relay';

/** Why `path` cannot be relay's app directory ("is a system directory: ..."), or undefined when it can. */
export function appDirRefusal(path: string): string | undefined {
  const homeDir = /^\/home\/[^/]+$/.test(path);
  if (SYSTEM_DIRS.has(path) || homeDir || SYSTEM_TREES.some((tree) => path.startsWith(tree))) {
    return 'is a system directory: relay resets its mode and mounts all of it into the container';
  }
  if (!SAFE_PATH.test(path) || path.split('/').some((part) => part === '.' || part === '..') || path.includes('//') || (path.length > 1 && path.endsWith('/'))) {
    return 'must be a plain absolute path such as /opt/relay (letters, digits, . _ - and /; no .. or trailing /)';
  }
  return undefined;
}

/** Returns the path when it may be relay's app directory; `source` names where it came from. */
export function checkAppDir(path: string, source = '--app-dir'): string {
  const refusal = appDirRefusal(path);
  if (refusal !== undefined) throw new ConfigError(`${source} "${path}" ${refusal}`, { fix: APP_DIR_FIX });
  return path;
}

/**
 * Read-only, run as root before any change: exit 0 when the directory is absent (relay will
 * create it) or is relay's (its marker, or the compose.yaml + .env that relay deploys wrote
 * before the marker existed); 3 when it exists and is someone else's; 4 when it is not a directory.
 */
export function appDirOwnerCheckCommand(appDir: string): string {
  const dir = shellQuote(appDir);
  return `d=${dir}
if [ ! -e "$d" ] && [ ! -L "$d" ]; then exit 0; fi
if [ -L "$d" ] || [ ! -d "$d" ]; then exit 4; fi
if [ -f "$d/${APP_DIR_MARKER}" ]; then exit 0; fi
if [ -f "$d/.env" ] && grep -qs 'relay.deploy-hash' "$d/compose.yaml"; then exit 0; fi
exit 3`;
}

/** The refusal for appDirOwnerCheckCommand's exit code, or undefined when the directory is fine. */
export function appDirOwnerError(appDir: string, hostLabel: string, code: number | null): ConfigError | undefined {
  if (code === 0) return undefined;
  const fix = `choose a new directory with --app-dir (relay creates it), or, if ${appDir} is one you emptied for relay, remove it (sudo rmdir ${shellQuote(appDir)}) and run again`;
  if (code === 4) return new ConfigError(`${appDir} on ${hostLabel} exists and is not a directory (or is a symlink)`, { fix });
  if (code === 3) return new ConfigError(`${appDir} on ${hostLabel} already exists and relay did not create it; relay would reset its mode and mount all of it into the container`, { fix });
  return new ConfigError(`could not inspect ${appDir} on ${hostLabel} (exit ${code})`, { fix: 'check that the login user can run sudo without a password' });
}
