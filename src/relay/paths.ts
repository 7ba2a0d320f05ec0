// Which request targets the relay forwards. Only origin-form paths under /v1/ pass; an
// absolute-URI ("GET http://other/...") or a dot segment ("/v1/../x", "/v1/%2e%2e/x") never does.

export function isForwardable(target: string): boolean {
  if (!target.startsWith('/v1/')) return false;
  const path = pathOnly(target);
  if (path.includes('\\') || path.includes('#')) return false;
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return false;
  }
  return true;
}

export function pathOnly(target: string): string {
  const queryAt = target.indexOf('?');
  return queryAt === -1 ? target : target.slice(0, queryAt);
}

/** The target with RELAY_PATH_PREFIX taken off, or undefined when it does not start with it. */
export function stripPrefix(target: string, prefix: string): string | undefined {
  if (prefix === '') return target;
  if (!target.startsWith(prefix) || target[prefix.length] !== '/') return undefined;
  return target.slice(prefix.length);
}
