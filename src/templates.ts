// Templates are files an operator can read (templates/nginx/relay.conf...) with {{placeholders}}.
// A placeholder without a value is an error, never an empty string in a config.
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './shared/errors.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function renderTemplate(text: string, vars: Record<string, string | number | undefined>): string {
  const missing = new Set<string>();
  const rendered = text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) {
    throw new ConfigError(`template needs a value for ${[...missing].map((name) => `{{${name}}}`).join(', ')}`);
  }
  return rendered;
}

// src/templates.ts under vitest and dist/cli.js in the package are both one level below the root.
const TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'templates');

/** Reads a template shipped in the package, e.g. loadTemplate('nginx/relay.conf'). */
export function loadTemplate(name: string): string {
  const path = normalize(join(TEMPLATES_DIR, name));
  if (!path.startsWith(TEMPLATES_DIR + '/')) throw new ConfigError(`template "${name}" is outside the templates directory`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`template "${name}" is missing from ${TEMPLATES_DIR}`, {
      fix: 'reinstall relay; the package ships its templates/ directory',
      cause: error,
    });
  }
}
