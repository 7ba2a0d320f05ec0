// Before asking a CA for a certificate: does the domain point at this host? A wrong A record is
// the most common reason HTTP-01 fails, and each failed attempt counts against the CA's limits.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError, RelayError } from './shared/errors.js';

export class DnsMismatchError extends RelayError {}

// LDH labels of 1-63 characters, at least two of them, a TLD that is not all digits.
const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Returns the domain when it is a DNS name a certificate can be issued for. */
export function checkDomainName(domain: string): string {
  if (!DOMAIN_NAME.test(domain)) {
    throw new ConfigError(`--domain "${domain}" is not a domain name.`, { fix: 'Pass the name whose A record points at the host, e.g. --domain relay.example.com.' });
  }
  return domain;
}

export interface DomainAddresses {
  v4: string[];
  v6: string[];
}

/** Resolves A and AAAA records, through `server` ("ip" or "ip:port") when given. */
export async function resolveDomain(domain: string, server?: string): Promise<DomainAddresses> {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (server) resolver.setServers([server]);
  const lookup = (query: Promise<string[]>) =>
    query.catch((error: NodeJS.ErrnoException) => {
      // No record of this type is an answer, not a failure.
      if (error.code === 'ENODATA' || error.code === 'ENOTFOUND') return [];
      throw new DnsMismatchError(`Could not resolve ${domain}: ${error.code ?? error.message}`, {
        fix: server ? `Check that the DNS server ${server} answers.` : 'Check this machine\'s DNS settings, or pass --resolver 1.1.1.1 to ask a public resolver.',
      });
    });
  const [v4, v6] = await Promise.all([lookup(resolver.resolve4(domain)), lookup(resolver.resolve6(domain))]);
  return { v4, v6 };
}

/**
 * Throws unless every A/AAAA record of the domain is one of the host's addresses. A stray AAAA
 * record breaks issuance too: Let's Encrypt prefers IPv6 when it exists.
 */
export function checkDomainPointsAtHost(domain: string, records: DomainAddresses, hostAddresses: string[]): void {
  const host = new Set(hostAddresses.filter((address) => isIP(address) !== 0));
  const all = [...records.v4, ...records.v6];
  if (all.length === 0) {
    throw new DnsMismatchError(`${domain} has no A or AAAA record.`, {
      fix: `Create an A record for ${domain} pointing to ${[...host].join(' or ') || 'this host'}, wait for it to propagate, then run \`relay cert\` again.`,
    });
  }
  const stray = all.filter((address) => !host.has(address));
  if (stray.length > 0) {
    throw new DnsMismatchError(`DNS for ${domain} points to ${stray.join(', ')}, not this host (${[...host].join(', ')}).`, {
      fix: `Update the ${stray.some((a) => isIP(a) === 6) ? 'A/AAAA records' : 'A record'} of ${domain} to ${[...host].join(' or ')} (remove records for other addresses), then run \`relay cert\` again.`,
    });
  }
}
