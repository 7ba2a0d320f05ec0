// `relay cert` as data: a Let's Encrypt certificate through certbot's webroot mode (certbot only
// drops challenge files into the webroot; nginx config stays relay's), a renewal deploy hook that
// reloads nginx, then the HTTPS vhost. Pure: templates and the vhost text are passed in.
import { ConfigError } from '../shared/errors.js';
import { shellQuote } from '../host/shell.js';
import { ACME_ROOT } from './deploy-plan.js';
import { APT_GET } from './install-plan.js';
import type { Step } from './step.js';

export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
export const RENEW_HOOK = '/etc/letsencrypt/renewal-hooks/deploy/relay-reload-nginx';
/** A certificate closer than this to expiry is renewed by `relay cert` (certbot's own threshold). */
const RENEW_BEFORE_SEC = 30 * 86_400;

export type AcmeAccount = { email: string } | { withoutEmail: true };

export interface CertInput {
  domain: string;
  account: AcmeAccount;
  /** ACME directory URL: Let's Encrypt, its staging, or any other CA (Pebble in the tests). */
  acmeServer: string;
}

const DOMAIN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/;
const EMAIL = /^[^\s@'"]+@[^\s@'"]+\.[^\s@'"]+$/;

export function certDir(domain: string): string {
  return `/etc/letsencrypt/live/${domain}`;
}

export function renewalConf(domain: string): string {
  return `/etc/letsencrypt/renewal/${domain}.conf`;
}

export function acmeServerFor(options: { staging?: boolean; acmeServer?: string }): string {
  if (options.acmeServer && options.staging) {
    throw new ConfigError('--staging and --acme-server both name the CA.', { fix: 'Pass one of them.' });
  }
  if (options.acmeServer) {
    let url: URL;
    try {
      url = new URL(options.acmeServer);
    } catch {
      throw new ConfigError(`--acme-server "${options.acmeServer}" is not a URL.`, { fix: 'Pass the ACME directory URL, e.g. https://acme.example/directory' });
    }
    if (url.protocol !== 'https:') throw new ConfigError('--acme-server must be an https:// directory URL (ACME requires TLS).');
    return url.href;
  }
  return options.staging ? LETS_ENCRYPT_STAGING : LETS_ENCRYPT;
}

export function validateCertInput(input: CertInput): void {
  if (!DOMAIN.test(input.domain)) {
    throw new ConfigError(`"${input.domain}" is not a domain name a certificate can be issued for.`, {
      fix: 'Pass --domain relay.example.com (an IP address cannot get a Let\'s Encrypt certificate: use --no-tls).',
    });
  }
  if ('email' in input.account && !EMAIL.test(input.account.email)) {
    throw new ConfigError(`--email "${input.account.email}" is not an email address.`);
  }
}

/**
 * The one certbot call. It runs once per `relay cert`: no retry loop, so a mistake cannot burn
 * through the CA's rate limit. A certificate from another CA (staging -> production) is replaced.
 */
export function certbotIssueCommand(input: CertInput): string {
  const q = shellQuote;
  const account = 'email' in input.account ? `--email ${q(input.account.email)} --no-eff-email` : '--register-unsafely-without-email';
  return `force=
if [ -f ${q(renewalConf(input.domain))} ] && ! grep -qxF ${q(`server = ${input.acmeServer}`)} ${q(renewalConf(input.domain))}; then force=--force-renewal; fi
certbot certonly --webroot -w ${ACME_ROOT} --cert-name ${q(input.domain)} -d ${q(input.domain)} \\
  --server ${q(input.acmeServer)} ${account} --agree-tos --non-interactive --keep-until-expiring $force`;
}

/** Passes when a certificate from the wanted CA is in place and has more than 30 days left. */
export function certValidCheck(input: CertInput): string {
  const q = shellQuote;
  const cert = q(`${certDir(input.domain)}/fullchain.pem`);
  return `test -s ${cert} && openssl x509 -checkend ${RENEW_BEFORE_SEC} -noout -in ${cert} >/dev/null \\
  && grep -qxF ${q(`server = ${input.acmeServer}`)} ${q(renewalConf(input.domain))}`;
}

// certbot runs every script in renewal-hooks/deploy after a successful renewal.
const RENEW_HOOK_SCRIPT = `#!/bin/sh
# Written by \`relay cert\`: after certbot renews a certificate, nginx picks it up. nginx -t first,
# so a broken config is reported instead of taking the running nginx down.
set -e
nginx -t -q
systemctl reload nginx
`;

export function buildCertPlan(input: CertInput): Step[] {
  validateCertInput(input);
  return [
    {
      id: 'cert.openssl',
      title: 'Install openssl (certificate checks)',
      check: 'command -v openssl >/dev/null',
      apply: [`${APT_GET} install -y openssl`],
    },
    {
      id: 'cert.issue',
      title: `Obtain a certificate for ${input.domain} (${new URL(input.acmeServer).host})`,
      check: certValidCheck(input),
      apply: [certbotIssueCommand(input)],
      fix: `certbot's message above says what the CA saw. Usually: the A record of ${input.domain} does not point at this host, or port 80 is blocked by a firewall. The HTTP vhost keeps working meanwhile; fix the cause, then run \`relay cert\` again (once: the CA limits failed attempts).`,
    },
    {
      id: 'cert.renew-hook',
      title: 'Install the renewal hook that reloads nginx',
      files: [{ path: RENEW_HOOK, content: RENEW_HOOK_SCRIPT, mode: '0755', owner: 'root:root' }],
      apply: [],
    },
  ];
}

/**
 * Renewal rehearsal. certbot's --dry-run silently switches to Let's Encrypt's staging server, which
 * is right for Let's Encrypt certificates; any other CA is named again. The deploy hook runs too
 * where certbot supports it (--run-deploy-hooks, certbot >= 2.7).
 */
export function renewDryRunCommand(domain: string): string {
  const conf = shellQuote(renewalConf(domain));
  return `server=$(sed -n 's/^server = //p' ${conf})
case "$server" in
  ''|${LETS_ENCRYPT}) server_opt= ;;
  *) server_opt="--server $server" ;;
esac
hooks=
if certbot --help renew 2>/dev/null | grep -q -- --run-deploy-hooks; then hooks=--run-deploy-hooks; fi
certbot renew --dry-run --cert-name ${shellQuote(domain)} --no-random-sleep-on-renew --non-interactive $server_opt $hooks`;
}
