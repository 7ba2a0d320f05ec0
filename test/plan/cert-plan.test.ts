// `relay cert` as a plan: what certbot is asked, what is checked first, what renewal runs.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { acmeServerFor, buildCertPlan, certbotIssueCommand, LETS_ENCRYPT, LETS_ENCRYPT_STAGING, RENEW_HOOK, renewDryRunCommand, type CertInput } from '../../src/plan/cert-plan.js';

const input: CertInput = { domain: 'relay.example.com', account: { email: 'ops@example.com' }, acmeServer: LETS_ENCRYPT };
const parses = (script: string) => spawnSync('sh', ['-n', '-c', script]).status === 0;

describe('relay cert: the plan', () => {
  it("asks certbot once, in webroot mode on the relay's own ACME root, with the CA named", () => {
    const command = certbotIssueCommand(input);
    expect(command).toContain('certbot certonly --webroot -w /var/www/relay-acme --cert-name relay.example.com -d relay.example.com');
    expect(command).toContain(`--server ${LETS_ENCRYPT}`);
    expect(command).toContain('--email ops@example.com --no-eff-email --agree-tos --non-interactive --keep-until-expiring');
    // Never the nginx plugin, which edits vhosts; never a retry loop.
    expect(command).not.toMatch(/--nginx|^\s*(while|until)\b/m);
    expect(parses(command)).toBe(true);
  });

  it('registers without an email only when told to', () => {
    expect(certbotIssueCommand({ ...input, account: { withoutEmail: true } })).toContain('--register-unsafely-without-email');
  });

  it('replaces a certificate from another CA (staging -> production)', () => {
    expect(certbotIssueCommand(input)).toContain("grep -qxF 'server = https://acme-v02.api.letsencrypt.org/directory' /etc/letsencrypt/renewal/relay.example.com.conf; then force=--force-renewal");
  });

  it('is unchanged while a certificate from the same CA has more than 30 days left', () => {
    const issue = buildCertPlan(input).find((step) => step.id === 'cert.issue')!;
    expect(issue.check).toContain('openssl x509 -checkend 2592000 -noout -in /etc/letsencrypt/live/relay.example.com/fullchain.pem');
    expect(issue.fix).toContain('HTTP vhost keeps working');
    expect(parses(issue.check!)).toBe(true);
  });

  it('installs openssl without a question, as every apt step does (issue 15, point 18)', () => {
    const openssl = buildCertPlan(input).find((step) => step.id === 'cert.openssl')!;
    expect(openssl.apply).toEqual([expect.stringMatching(/^NEEDRESTART_MODE=a DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 .* install -y openssl$/)]);
  });

  it('installs a renewal hook that reloads nginx only after nginx -t', () => {
    const hook = buildCertPlan(input).find((step) => step.id === 'cert.renew-hook')!;
    expect(hook.files).toEqual([expect.objectContaining({ path: RENEW_HOOK, mode: '0755', owner: 'root:root' })]);
    const script = String(hook.files![0]!.content);
    expect(script.indexOf('nginx -t')).toBeLessThan(script.indexOf('systemctl reload nginx'));
  });

  it('picks the CA from --staging or --acme-server, and refuses both at once', () => {
    expect(acmeServerFor({})).toBe(LETS_ENCRYPT);
    expect(acmeServerFor({ staging: true })).toBe(LETS_ENCRYPT_STAGING);
    expect(acmeServerFor({ acmeServer: 'https://10.0.0.1:14000/dir' })).toBe('https://10.0.0.1:14000/dir');
    expect(() => acmeServerFor({ staging: true, acmeServer: 'https://x/dir' })).toThrow(ConfigError);
    expect(() => acmeServerFor({ acmeServer: 'http://x/dir' })).toThrow(/https/);
  });

  it('refuses an IP address or a malformed domain', () => {
    expect(() => buildCertPlan({ ...input, domain: '203.0.113.7' })).toThrow(expect.objectContaining({ fix: expect.stringContaining('--no-tls') }));
    expect(() => buildCertPlan({ ...input, domain: 'relay..example.com' })).toThrow(ConfigError);
    expect(() => buildCertPlan({ ...input, account: { email: 'not-an-email' } })).toThrow(/--email/);
  });

  it('rehearses renewal against the same CA, or Let\'s Encrypt staging for Let\'s Encrypt certificates', () => {
    const command = renewDryRunCommand('relay.example.com');
    expect(command).toContain('certbot renew --dry-run --cert-name relay.example.com --no-random-sleep-on-renew --non-interactive $server_opt $hooks');
    expect(command).toContain(`''|${LETS_ENCRYPT}) server_opt= ;;`);
    expect(command).toContain('--run-deploy-hooks');
    expect(parses(command)).toBe(true);
  });
});

describe('relay cert: refusing a CA it cannot use', () => {
  it('says which option to drop when both --staging and --acme-server are given', () => {
    expect(() => acmeServerFor({ staging: true, acmeServer: 'https://x/dir' })).toThrow(
      expect.objectContaining({ message: '--staging and --acme-server both name the CA.', fix: 'Pass one of them.' }),
    );
  });

  it('shows the directory URL it expects when --acme-server is not a URL', () => {
    expect(() => acmeServerFor({ acmeServer: 'acme.example/directory' })).toThrow(
      expect.objectContaining({ message: '--acme-server "acme.example/directory" is not a URL.', fix: 'Pass the ACME directory URL, e.g. https://acme.example/directory' }),
    );
  });

  it('names the domain it cannot issue for', () => {
    expect(() => buildCertPlan({ ...input, domain: '203.0.113.7' })).toThrow('"203.0.113.7" is not a domain name a certificate can be issued for.');
  });
});

describe('relay cert: the steps, exactly', () => {
  it('installs openssl, obtains the certificate from the named CA unless a good one is there, then installs the renewal hook', () => {
    const staging = { ...input, acmeServer: LETS_ENCRYPT_STAGING };
    const [openssl, issue, hook] = buildCertPlan(staging);
    expect(openssl).toEqual({ id: 'cert.openssl', title: 'Install openssl (certificate checks)', check: 'command -v openssl >/dev/null', apply: [expect.stringMatching(/ install -y openssl$/)] });
    expect(issue).toMatchObject({ id: 'cert.issue', title: 'Obtain a certificate for relay.example.com (acme-staging-v02.api.letsencrypt.org)', apply: [certbotIssueCommand(staging)] });
    expect(issue!.check).toBe(
      "test -s /etc/letsencrypt/live/relay.example.com/fullchain.pem && openssl x509 -checkend 2592000 -noout -in /etc/letsencrypt/live/relay.example.com/fullchain.pem >/dev/null \\\n" +
        "  && grep -qxF 'server = https://acme-staging-v02.api.letsencrypt.org/directory' /etc/letsencrypt/renewal/relay.example.com.conf",
    );
    expect(hook).toEqual({ id: 'cert.renew-hook', title: 'Install the renewal hook that reloads nginx', files: [expect.objectContaining({ path: RENEW_HOOK, mode: '0755', owner: 'root:root' })], apply: [] });
  });
});
