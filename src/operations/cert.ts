// `relay cert`: preflight (DNS points here, port 80 answers from outside), certbot, the HTTPS
// vhost, and a check through nginx from this machine. No printing.
import { randomBytes } from 'node:crypto';
import { checkDomainPointsAtHost, resolveDomain } from '../dns-check.js';
import { RelayError } from '../shared/errors.js';
import type { Host } from '../host/host.js';
import { shellQuote } from '../host/shell.js';
import { buildCertPlan, certDir, type CertInput } from '../plan/cert-plan.js';
import { ACME_ROOT, vhostStep } from '../plan/deploy-plan.js';
import { port80BlockedFix, READ_FIREWALL } from '../plan/preflight.js';
import type { Step } from '../plan/step.js';
import { endpointAgent, probe, type RelayEndpoint } from '../relay-endpoint.js';
import { loadDeployTemplates } from './deploy.js';

export interface CertSettings extends CertInput {
  appDir: string;
  hsts: boolean;
  /** DNS server for the preflight ("ip" or "ip:port"); default: this machine's resolver. */
  resolver?: string;
}

export function certSteps(settings: CertSettings): Step[] {
  const templates = loadDeployTemplates();
  return [
    ...buildCertPlan(settings),
    vhostStep({ appDir: settings.appDir, serverName: settings.domain, templates, tls: { certDir: certDir(settings.domain), hsts: settings.hsts } }),
  ];
}

/** Every global address of the host plus the one this machine reaches it at. */
async function hostAddresses(host: Host): Promise<string[]> {
  const listed = await host.run(`ip -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1`);
  return [host.address, ...listed.stdout.split('\n').map((line) => line.trim()).filter(Boolean)];
}

/**
 * Checks, before the CA is asked, what HTTP-01 needs: the domain's records point at this host,
 * and a file put in the ACME webroot is served on port 80 at that address. Returns the address.
 */
export async function certPreflight(host: Host, settings: CertSettings): Promise<string> {
  const records = await resolveDomain(settings.domain, settings.resolver);
  checkDomainPointsAtHost(settings.domain, records, await hostAddresses(host));
  const address = records.v4[0] ?? records.v6[0]!;

  const name = `relay-probe-${randomBytes(8).toString('hex')}`;
  const content = randomBytes(16).toString('hex');
  const path = `${ACME_ROOT}/.well-known/acme-challenge/${name}`;
  await host.writeFile({ path, content, mode: '0644', owner: 'root:root' });
  const endpoint: RelayEndpoint = { origin: `http://${settings.domain}`, address };
  const agent = endpointAgent(endpoint);
  try {
    const answer = await probe(endpoint, `/.well-known/acme-challenge/${name}`, undefined, agent).catch(async (error: RelayError) => {
      // Name what blocks it on the host itself, if anything does (an iptables REJECT, ufw).
      const firewall = await host.run(READ_FIREWALL, { sudo: true });
      throw new RelayError(`Port 80 of ${settings.domain} (${address}) does not answer from here: ${error.message}`, { fix: port80BlockedFix(firewall.stdout) });
    });
    if (answer.status !== 200 || answer.body !== content) {
      throw new RelayError(`http://${settings.domain}/.well-known/acme-challenge/ is not served by this host's nginx (got ${answer.status}).`, {
        fix: 'Run `relay deploy` first so the relay vhost answers ACME challenges, and check that nothing in front of the host (a CDN proxy) intercepts port 80.',
      });
    }
  } finally {
    await agent.close();
    await host.run(`rm -f ${shellQuote(path)}`, { sudo: true });
  }
  return address;
}

/** GET /health over HTTPS through nginx: the certificate is served and trusted (or `ca` given). */
export async function verifyHttps(endpoint: RelayEndpoint): Promise<void> {
  const agent = endpointAgent(endpoint);
  try {
    const answer = await probe(endpoint, '/health', undefined, agent);
    if (answer.status !== 200) throw new RelayError(`GET ${endpoint.origin}/health answered ${answer.status} over HTTPS, not 200.`, { fix: 'Run `relay logs -n 50` and `sudo nginx -T` on the host.' });
  } finally {
    await agent.close();
  }
}
