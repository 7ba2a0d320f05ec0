// Shared: the CLI hides credentials in settings and plans it shows; the relay in what it logs and dumps.
// A URL's user:password is a secret wherever the URL is shown (a proxy or Redis URL in settings,
// logs, plans): one way to spot it and one way to hide it.
const CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

/** True when `value` is a URL carrying a user or password (scheme://user:pass@host). */
export function hasUrlCredentials(value: string): boolean {
  return new RegExp(CREDENTIALS.source, 'i').test(value);
}

/** `text` with every URL's user:password replaced by `***`: http://***@proxy:3128. */
export function redactUrlCredentials(text: string): string {
  return text.replace(CREDENTIALS, '$1***@');
}
