// What a dump may never show: the relay's own secrets by value (the key, relay tokens, the Ollama
// path, proxy and Redis credentials), and anything that looks like a credential by its name
// (Authorization, cookies, api_key=...) or its shape (Bearer values, sk- keys, 64-hex tokens).
import { CREDENTIALS } from './headers.js';
import { redactUrlCredentials } from '../shared/url-credentials.js';

export const REDACTED = '[redacted]';

/** Shorter known values are not replaced by value: they would blank ordinary words everywhere. */
const MIN_SECRET_LENGTH = 4;

// Header, JSON field and query parameter names whose value is a credential, `_` read as `-`.
// Not a bare `token`: OpenAI's logprobs carry `"token":"Hello"`; relay tokens are redacted by value.
const SECRET_NAME = /(^|-)(api-?key|secret|password|passwd|authorization|access-token|refresh-token|id-token|session-token|private-key|cookie2?|set-cookie2?)$/;

function isSecretName(name: string): boolean {
  const normal = name.toLowerCase().replaceAll('_', '-');
  return CREDENTIALS.has(normal) || SECRET_NAME.test(normal);
}

// `Bearer <value>` anywhere in text (Basic values are blanked by their header's name).
const BEARER_VALUE = /\b(Bearer)(\s+)[^\s"',;]+/gi;
// OpenAI-style keys (sk-..., sk-proj-...): a passthrough client's own key is not known by value.
const OPENAI_KEY = /\bsk-[A-Za-z0-9_-]{16,}/g;
// What relay tokens look like (`relay token add`, `openssl rand -hex 32`): named ones are known only by hash.
const HEX_TOKEN = /[0-9a-fA-F]{64,}/g;
// "name": "value" in JSON text that did not parse (a body cut at the cap); the closing quote may be cut off.
const JSON_PAIR = /("([\w-]+)"\s*:\s*")((?:[^"\\]|\\.)*)("|$)/g;
// name=value in a query string, a form body or a cookie-like list.
const PARAM_PAIR = /(^|[?&;,\s])([\w.-]+)=([^&;,\s"]*)/g;

export interface Redactor {
  /** A string with every secret in it replaced. */
  text(value: string): string;
  /** A JSON-like value (headers, a parsed body, an event) with keys and strings redacted, and credential-named fields blanked. */
  value(value: unknown): unknown;
}

/** `secrets` is read on every call: relay tokens change on reload. */
export function createRedactor(secrets: () => Iterable<string | undefined>): Redactor {
  return {
    text(value) {
      return redactText(value, knownValues(secrets()));
    },
    value(value) {
      return redactValue(value, knownValues(secrets()));
    },
  };
}

/** One pattern for every known value, as written, URL-encoded and JSON-escaped. */
function knownValues(secrets: Iterable<string | undefined>): RegExp | undefined {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret).add(encodeURIComponent(secret)).add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return undefined;
  // Longest first, so a secret that contains another is replaced whole.
  const longestFirst = [...forms].sort((a, b) => b.length - a.length);
  return new RegExp(longestFirst.map((form) => form.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
}

// Most of a dump (ids, roles, text) has none of the shapes above: one test skips five passes (3x faster redaction).
const MAYBE_SHAPED = /bearer|sk-|[=@]|[0-9a-f]{64}|"\s*:/i;

function redactText(value: string, known: RegExp | undefined): string {
  const out = known === undefined ? value : value.replace(known, REDACTED);
  if (!MAYBE_SHAPED.test(out)) return out;
  return redactUrlCredentials(out)
    .replace(BEARER_VALUE, `$1$2${REDACTED}`)
    .replace(OPENAI_KEY, REDACTED)
    .replace(HEX_TOKEN, REDACTED)
    .replace(JSON_PAIR, (pair, head: string, name: string, _value: string, close: string) => (isSecretName(name) ? `${head}${REDACTED}${close}` : pair))
    .replace(PARAM_PAIR, (pair, before: string, name: string) => (isSecretName(name) ? `${before}${name}=${REDACTED}` : pair));
}

function redactValue(value: unknown, known: RegExp | undefined): unknown {
  if (typeof value === 'string') return redactText(value, known);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, known));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) out[redactText(name, known)] = isSecretName(name) ? blank(field) : redactValue(field, known);
  return out;
}

/** A credential-named field's value, blanked whole; an Authorization value keeps its scheme: "Bearer [redacted]". */
function blank(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(blank);
  const scheme = /^(\w+)\s+\S/.exec(String(value))?.[1];
  return scheme === undefined ? REDACTED : `${scheme} ${REDACTED}`;
}
