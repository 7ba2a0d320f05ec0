// Shared: the OPENAI_BASE_URL and proxy URL rules; `relay deploy` refuses a bad one before the host is touched, the relay at start.
import { ConfigError } from './errors.js';

export interface UpstreamUrl {
  /** scheme://host[:port], what undici connects to. */
  origin: string;
  /** Path the OpenAI API lives under at that origin, without a trailing slash or /v1 ('' for api.openai.com). */
  basePath: string;
}

/** Accepts the base URL with or without a trailing `/v1` or `/`, as the SDKs' own setting is written both ways. */
export function parseUpstream(baseUrl: string): UpstreamUrl {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(`OPENAI_BASE_URL is not a URL: "${baseUrl}"`, { fix: 'Use a full URL such as https://api.openai.com' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`OPENAI_BASE_URL must be http(s); got ${url.protocol}`, { fix: 'Use a URL such as https://api.openai.com' });
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError('OPENAI_BASE_URL must not carry a query, fragment or credentials.', {
      fix: 'Put the key in OPENAI_API_KEY and keep OPENAI_BASE_URL to scheme://host[:port][/path].',
    });
  }
  const basePath = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return { origin: url.origin, basePath };
}

/** A proxy setting's value as a URL; anything but an http(s) URL is refused by name, never echoed (it may hold a password). */
export function parseProxyUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL.`, { fix: `Set ${name} to the proxy as http://host:port (or http://user:password@host:port).` });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http:// or https:// proxy; got ${url.protocol}`, { fix: `Set ${name} to the proxy as http://host:port.` });
  }
  return url;
}
