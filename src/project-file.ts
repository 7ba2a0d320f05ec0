// relay.json in the working directory: where the relay lives (host, user, domain...), so
// `relay logs -f` needs no flags after the first command. Never secrets: it may well be committed.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkAppDir } from './app-dir.js';
import { ConfigError } from './shared/errors.js';

export const PROJECT_FILE = 'relay.json';

export interface ProjectSettings {
  /** Host name, address or ssh_config alias (without user or port). */
  host?: string;
  user?: string;
  port?: number;
  domain?: string;
  email?: string;
  appDir?: string;
}

const FIELDS: Record<keyof ProjectSettings, 'string' | 'number'> = {
  host: 'string',
  user: 'string',
  port: 'number',
  domain: 'string',
  email: 'string',
  appDir: 'string',
};
// relay.json may be committed: it must not choose which key relay logs in with or which
// known_hosts file it trusts, or a pull request could send the key somewhere new silently.
const TRUST_SETTINGS: Record<string, string> = {
  identity: 'pass -i/--identity on the command line, or set IdentityFile for the host in ~/.ssh/config',
  knownHosts: 'pass --known-hosts on the command line, or set UserKnownHostsFile in ~/.ssh/config',
};
const SECRET_NAME = /token|key|password|passwd|secret|passphrase|credential/i;
const SECRET_VALUE = /^(sk-|-----BEGIN)/;

export async function loadProjectFile(dir: string): Promise<ProjectSettings> {
  const path = join(dir, PROJECT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`, { fix: `fix or delete ${path}` });
  }
  return validate(parsed, path);
}

/** Changes to relay.json: undefined leaves a setting alone, null removes it. */
export type ProjectSettingsUpdate = { [K in keyof ProjectSettings]?: ProjectSettings[K] | null };

/** Merges `settings` into the file and returns the result. */
export async function saveProjectFile(dir: string, settings: ProjectSettingsUpdate): Promise<ProjectSettings> {
  const path = join(dir, PROJECT_FILE);
  const merged: Record<string, unknown> = { ...(await loadProjectFile(dir)) };
  for (const [name, value] of Object.entries(settings)) {
    if (value === null) delete merged[name];
    else if (value !== undefined) merged[name] = value;
  }
  const checked = validate(merged, path);
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o644 });
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return checked;
}

function validate(value: unknown, path: string): ProjectSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${path} must hold a JSON object`, { fix: `fix or delete ${path}` });
  }
  const settings: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    if (SECRET_NAME.test(name) || (typeof field === 'string' && SECRET_VALUE.test(field))) {
      throw new ConfigError(`${path} must not hold secrets, but has "${name}"`, {
        fix: 'keep tokens and keys out of relay.json (it is meant to be shareable); relay keeps secrets on the server',
      });
    }
    const instead = TRUST_SETTINGS[name];
    if (instead !== undefined) {
      throw new ConfigError(`${path} names "${name}": relay.json may be committed, so it does not choose SSH keys or trusted host keys`, {
        fix: `remove "${name}" from ${path}; ${instead}`,
      });
    }
    const type = FIELDS[name as keyof ProjectSettings];
    if (type === undefined) {
      throw new ConfigError(`${path} has an unknown setting "${name}"`, { fix: `known settings: ${Object.keys(FIELDS).join(', ')}` });
    }
    if (typeof field !== type) throw new ConfigError(`${path}: "${name}" must be a ${type}`, { fix: `fix or delete ${path}` });
    // An appDir from the file is checked like one from --app-dir.
    settings[name] = name === 'appDir' ? checkAppDir(field as string, `appDir in ${path}`) : field;
  }
  return settings as ProjectSettings;
}
