// `relay cert`: Let's Encrypt (or any ACME CA) for the relay's domain, then HTTPS in nginx.
import chalk from 'chalk';
import type { Command } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { requireRelayAppDir } from '../operations/deploy.js';
import { checkDomainName } from '../dns-check.js';
import { certPreflight, certSteps, verifyHttps, type CertSettings } from '../operations/cert.js';
import { acmeServerFor, renewDryRunCommand, type AcmeAccount } from '../plan/cert-plan.js';
import { readCaFile } from '../relay-endpoint.js';
import { hostOutputTo, printPlan, runWithProgress } from './output.js';
import { chooseSettings, rememberSettings } from './project-settings.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { acmeServerOption, appDirOption, domainOption, resolverOption } from './flags.js';

export interface CertOptions {
  domain?: string;
  email?: string;
  registerUnsafelyWithoutEmail?: boolean;
  staging?: boolean;
  acmeServer?: string;
  hsts?: boolean;
  resolver?: string;
  caFile?: string;
  preflight: boolean;
}

interface CertCommandOptions extends CertOptions, TargetOptions {
  appDir?: string;
  renewDryRun?: boolean;
  dryRun?: boolean;
}

/** The ACME flags, shared with `relay init`. */
export function addCertOptions(command: Command): Command {
  return command
    .option('--email <address>', "Let's Encrypt account email (expiry notices)")
    .option('--register-unsafely-without-email', 'register without an email: you will get no expiry warnings')
    .option('--staging', "use Let's Encrypt's staging CA to rehearse (generous rate limits; its certificates are untrusted, so only /health is checked and the token is never sent)")
    .addOption(acmeServerOption('ACME directory URL of another CA (a private CA, Pebble in tests)'))
    .option('--hsts', 'send Strict-Transport-Security (browsers then refuse plain HTTP to this domain for a year)')
    .addOption(resolverOption('DNS server for the preflight check (default: this machine\'s resolver)'))
    .option('--ca-file <pem>', 'trust this CA when verifying HTTPS from here (for --acme-server CAs)')
    .option('--no-preflight', 'skip the DNS and port-80 checks before asking the CA');
}

// What ACME servers accept in practice: one @, a dotted domain, no spaces.
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Validated CertSettings from flags and relay.json; the email choice must be explicit. */
export function certSettings(options: CertOptions, domain: string | undefined, appDir: string, rememberedEmail?: string): CertSettings {
  if (!domain) throw new ConfigError('No domain: a certificate is issued for a name, not an address.', { fix: 'Pass --domain relay.example.com (its A record must point at the host).' });
  checkDomainName(domain);
  const email = options.email ?? rememberedEmail;
  if (email !== undefined && !EMAIL.test(email)) {
    throw new ConfigError(`--email "${email}" is not an email address.`, { fix: "Pass the address Let's Encrypt should send expiry notices to, e.g. --email ops@example.com." });
  }
  let account: AcmeAccount;
  if (email && !options.registerUnsafelyWithoutEmail) account = { email };
  else if (options.registerUnsafelyWithoutEmail && !options.email) account = { withoutEmail: true };
  else if (options.registerUnsafelyWithoutEmail) throw new ConfigError('--email and --register-unsafely-without-email contradict each other.', { fix: 'Pass one of them.' });
  else throw new ConfigError("Let's Encrypt wants an account email.", { fix: 'Pass --email you@example.com, or --register-unsafely-without-email to go without expiry notices.' });
  return {
    domain,
    account,
    acmeServer: acmeServerFor(options),
    appDir,
    hsts: options.hsts ?? false,
    ...(options.resolver ? { resolver: options.resolver } : {}),
  };
}

export function registerCert(program: Command): void {
  const command = program
    .command('cert')
    .description("Get a Let's Encrypt certificate (certbot, HTTP-01 on the relay's own vhost) and serve HTTPS.")
    .addOption(domainOption('the relay\'s domain (default: from relay.json)'))
    .addOption(appDirOption())
    .option('--renew-dry-run', 'rehearse the renewal (certbot renew --dry-run, with the nginx reload hook) and change nothing')
    .option('--dry-run', 'print the plan and change nothing');
  addCertOptions(command);
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Before asking the CA it checks that the domain's A/AAAA records point at the host and that port 80
answers from here; a failed issuance leaves the HTTP vhost as it was and is not retried in a loop.
Renewals run from certbot's own timer; a deploy hook reloads nginx after each (nginx -t first).

Examples:
  $ relay cert --domain relay.example.com --email ops@example.com
  $ relay cert --staging --register-unsafely-without-email     # rehearse against staging
  $ relay cert --renew-dry-run`,
    )
    .action(async (options: CertCommandOptions) => {
      const { project, appDir, domain } = await chooseSettings(options);
      if (options.renewDryRun) {
        if (!domain) throw new ConfigError('No domain.', { fix: 'Pass --domain.' });
        await withHost(options, async (host) => {
          const code = await host.stream(renewDryRunCommand(domain), {
            sudo: true,
            onStdout: hostOutputTo(process.stdout),
            onStderr: hostOutputTo(process.stderr),
          });
          if (code !== 0) throw new ConfigError(`certbot renew --dry-run failed (exit ${code}).`, { fix: 'Read certbot\'s output above; the live certificate is untouched.' });
          process.stdout.write(`${chalk.green('✓')} renewal of ${domain} works, and the nginx reload hook with it\n`);
        });
        return;
      }
      const settings = certSettings(options, domain, appDir, project.email);
      if (options.dryRun) {
        printPlan(certSteps(settings));
        return;
      }
      const ca = await readCaFile(options.caFile);
      await withHost(options, async (host) => {
        await issueCertificate(host, settings, { preflight: options.preflight, ca, insecure: options.staging ?? false });
        await rememberSettings({ domain: settings.domain, ...('email' in settings.account ? { email: settings.account.email } : {}) });
        process.stdout.write(`Relay: ${chalk.bold(`https://${settings.domain}/v1`)}\n`);
      });
    });
}

/** Preflight, plan, HTTPS check; prints progress. Shared with `relay init`. */
export async function issueCertificate(
  host: import('../host/host.js').Host,
  settings: CertSettings,
  options: { preflight: boolean; ca: string | undefined; insecure: boolean },
): Promise<void> {
  // The staged vhost goes into the app directory: it must be relay's before anything changes.
  await requireRelayAppDir(host, settings.appDir);
  let address = host.address;
  if (options.preflight) {
    const started = performance.now();
    address = await certPreflight(host, settings);
    process.stdout.write(`${chalk.green('✓')} DNS of ${settings.domain} points here and port 80 answers ${chalk.dim(`${Math.round(performance.now() - started)}ms`)}\n`);
  }
  await runWithProgress(host, certSteps(settings));
  await verifyHttps({ origin: `https://${settings.domain}`, address, ...(options.ca ? { ca: options.ca } : {}), insecure: options.insecure });
  process.stdout.write(`${chalk.green('✓')} https://${settings.domain}/health answers with the new certificate\n`);
}
