// `relay init`: one command from a fresh host to a working HTTPS relay, safe to run again.
import { isIP } from 'node:net';
import chalk from 'chalk';
import type { Command } from 'commander';
import { checkDomainName, checkDomainPointsAtHost, resolveDomain } from '../dns-check.js';
import { formatDuration } from '../shared/duration.js';
import { ConfigError, RelayError } from '../shared/errors.js';
import { parseTarget } from '../host/target.js';
import { certSteps, type CertSettings } from '../operations/cert.js';
import { checkDeployInputs, dryRunDeployPlan, prepareDeploy, requireRelayAppDir, type DeploySettings } from '../operations/deploy.js';
import { DEFAULT_BASE_IMAGE } from '../plan/deploy-plan.js';
import { buildInstallPlan, type DockerSource } from '../plan/install-plan.js';
import { parseOsRelease, READ_OS_RELEASE } from '../plan/preflight.js';
import { describeFiles, describePlan } from '../plan/render-plan.js';
import { endpointAgent, readCaFile, streamedCompletion, type RelayEndpoint } from '../relay-endpoint.js';
import { addCertOptions, certSettings, issueCertificate, type CertOptions } from './cert.js';
import { printSecretOnce, runWithProgress, terminalMayShowSecret, terminalSafe } from './output.js';
import { chooseSettings, rememberSettings } from './project-settings.js';
import { addSecretSettingOptions, collect, saveGenerated, settingPairs, type SettingFlags } from './setting-options.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { saveToEnvFile } from './env-file.js';
import { appDirOption, dockerSourceOption, domainOption, envFileOption } from './flags.js';

interface InitOptions extends TargetOptions, CertOptions, SettingFlags {
  tls: boolean;
  appDir?: string;
  dockerSource: DockerSource;
  baseImage: string;
  openaiBaseUrl?: string;
  envFile: string;
  verify: boolean;
  verifyModel: string;
  quietToken?: boolean;
  dryRun?: boolean;
  showFiles?: boolean;
}

export function registerInit(program: Command): void {
  const command = program
    .command('init')
    .description('Everything on a fresh host: install, deploy, HTTPS certificate, and a real streamed request to prove it.')
    .addOption(domainOption("the relay's domain; its A record must point at the host"))
    .option('--no-tls', 'stay on plain HTTP (IP-only tests); no certificate')
    .addOption(dockerSourceOption("'official' (Docker's apt repository) or 'distro' (the distribution's packages)"))
    .option('--base-image <image>', 'Node 24 image the relay image is built FROM', DEFAULT_BASE_IMAGE)
    .option('--openai-base-url <url>', 'upstream the relay forwards to (default: https://api.openai.com)')
    .addOption(envFileOption('local file holding OPENAI_API_KEY (only that line is sent); RELAY_TOKEN is saved there too'))
    .addOption(appDirOption())
    .option('--set <KEY=VALUE>', 'a relay setting for the host, as for `relay deploy --set` (repeatable)', collect, [])
    .option('--verify-model <model>', 'model for the final streamed test request (a few tokens)', 'gpt-4o-mini')
    .option('--no-verify', 'skip the final streamed test request')
    .option('--quiet-token', 'print only the token\'s fingerprint, never the token')
    .option('--dry-run', 'check every input, print the plan of every phase and change nothing (does not connect)')
    .option('--show-files', 'with --dry-run: print every file the plan writes (secrets as placeholders)');
  addSecretSettingOptions(command);
  addCertOptions(command);
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Steps: OS preflight, install (Docker, nginx, certbot), deploy (relay container + nginx vhost),
certificate (DNS and port-80 preflight, certbot, HTTPS vhost), then a streamed chat completion
through nginx from here: its time to first byte shows whether anything buffers. Re-running is safe:
finished steps report "unchanged", nothing working is torn down, a failure names the step and fix.

Examples:
  $ relay init --host root@203.0.113.7 --domain relay.example.com --email ops@example.com
  $ relay init --host ops@203.0.113.7 -i ~/.ssh/id_ed25519 --no-tls
  $ relay init --host root@203.0.113.7 --domain relay.example.com --email ops@example.com --dry-run --show-files

Every input (the key in --env-file, --domain, --email, --app-dir, --set, and with TLS the domain's
DNS records) is checked before the first SSH command.`,
    )
    .action(async (options: InitOptions) => {
      const started = performance.now();
      // Everything that can be refused is refused before the first SSH command.
      const inputs = await checkInputs(options);
      if (options.dryRun) {
        await printDryRun(inputs, options);
        return;
      }
      const { appDir, domain, cert, ca } = inputs;

      await withHost(options, async (host) => {
        const serverName = domain ?? host.address;
        await requireRelayAppDir(host, appDir);
        phase('Install');
        const os = parseOsRelease((await host.run(READ_OS_RELEASE)).stdout);
        process.stdout.write(chalk.dim(`${host.label}: ${terminalSafe(os.prettyName)}\n`));
        await runWithProgress(host, buildInstallPlan({ os, dockerSource: inputs.dockerSource }));

        phase('Deploy');
        const deploy = await prepareDeploy(host, { ...inputs.deploy, serverName, tlsPending: cert !== undefined });
        await saveGenerated(options.envFile, deploy.generated);
        // Before the host changes: it will hold only the token's hash.
        if (deploy.token.origin !== 'kept') await saveToEnvFile(options.envFile, 'RELAY_TOKEN', deploy.token.token);
        await runWithProgress(host, deploy.steps);
        await rememberSettings({ appDir, ...(domain ? { domain } : {}) });

        if (cert) {
          phase('Certificate');
          await issueCertificate(host, cert, { preflight: options.preflight, ca, insecure: options.staging ?? false });
          await rememberSettings('email' in cert.account ? { email: cert.account.email } : {});
        }

        const endpoint: RelayEndpoint = { origin: `${cert ? 'https' : 'http'}://${serverName}`, address: host.address, ...(ca ? { ca } : {}), insecure: cert !== undefined && (options.staging ?? false) };
        if (options.verify) {
          phase('Verify');
          if (endpoint.insecure) {
            process.stdout.write(`${chalk.yellow('!')} streamed test request skipped: a --staging certificate is not trusted, so the token is not sent over it (HTTPS /health answered above)\n`);
          } else {
            await verifyStream(endpoint, deploy.token.token, options.verifyModel);
          }
        }
        process.stdout.write(`\n${chalk.bold('Done')} in ${formatDuration(performance.now() - started)}\n`);
        printNextSteps(endpoint.origin, deploy.token.token, deploy.token.origin === 'kept' || (options.quietToken ?? false), options.envFile);
      }).catch((error: unknown) => {
        if (error instanceof RelayError && !(error instanceof ConfigError)) {
          process.stderr.write(chalk.dim('Nothing that already works was torn down; after fixing the cause, run the same `relay init` again: finished steps are skipped.\n'));
        }
        throw error;
      });
    });
}

interface InitInputs {
  appDir: string;
  domain: string | undefined;
  dockerSource: DockerSource;
  cert: CertSettings | undefined;
  ca: string | undefined;
  /** Without serverName: that is the domain, or else the address SSH reaches. */
  deploy: Omit<DeploySettings, 'serverName'>;
  /** The --host target (or relay.json's), when given; the dry run names the server by it. */
  targetHost: string | undefined;
}

/** Every input checked without the host: flags, relay.json, the API key, the rendered plan, DNS. */
async function checkInputs(options: InitOptions): Promise<InitInputs> {
  const { project, appDir, domain } = await chooseSettings(options);
  if (domain !== undefined) checkDomainName(domain);
  const { dockerSource } = options;
  const cert = options.tls ? certSettings(options, domain, appDir, project.email) : undefined;
  const ca = await readCaFile(options.caFile);
  const deploy: Omit<DeploySettings, 'serverName'> = {
    appDir,
    baseImage: options.baseImage,
    envFile: options.envFile,
    set: settingPairs(options),
    generate: options.generate,
    ...(options.openaiBaseUrl === undefined ? {} : { openaiBaseUrl: options.openaiBaseUrl }),
  };
  const hostText = options.host ?? project.host;
  const targetHost = hostText === undefined ? undefined : parseTarget(hostText).host;
  await checkDeployInputs({ ...deploy, serverName: domain ?? targetHost ?? 'localhost' });
  if (cert && options.preflight) await checkDnsBeforeConnecting(cert, targetHost);
  return { appDir, domain, dockerSource, cert, ca, deploy, targetHost };
}

/**
 * The DNS half of the certificate preflight, from here: the domain must have records, and point
 * at --host when that is an address. The full check (the host's own addresses, port 80) follows
 * once connected.
 */
async function checkDnsBeforeConnecting(cert: CertSettings, targetHost: string | undefined): Promise<void> {
  const records = await resolveDomain(cert.domain, cert.resolver);
  checkDomainPointsAtHost(cert.domain, records, targetHost !== undefined && isIP(targetHost) !== 0 ? [targetHost] : [...records.v4, ...records.v6]);
}

async function printDryRun(inputs: InitInputs, options: InitOptions): Promise<void> {
  const serverName = inputs.domain ?? inputs.targetHost;
  if (serverName === undefined) {
    throw new ConfigError('No server name for the plan: pass --domain, or --host so its address can serve as one.', { fix: 'relay init --host root@203.0.113.7 --domain relay.example.com --dry-run' });
  }
  const deploySteps = await dryRunDeployPlan({ ...inputs.deploy, serverName });
  const out = [`Plan for relay init (nothing is changed, nothing connects; the .env values are placeholders)\n`];
  out.push(`${chalk.bold('Install')}\n   OS preflight, then Docker (${inputs.dockerSource === 'official' ? "Docker's apt repository" : 'the distribution\'s packages'}), nginx and certbot.\n   The steps depend on the host's OS: \`relay install --dry-run\` reads /etc/os-release and lists them.\n`);
  out.push(`${chalk.bold('Deploy')}\n${describePlan(deploySteps)}`);
  const certPlan = inputs.cert ? certSteps(inputs.cert) : [];
  if (inputs.cert) out.push(`${chalk.bold('Certificate')}\n   First the preflight: DNS of ${inputs.cert.domain} points at the host and port 80 answers from here.\n${describePlan(certPlan)}`);
  if (options.verify) out.push(`${chalk.bold('Verify')}\n   A streamed chat completion (${options.verifyModel}, a few tokens) through nginx from here.\n`);
  if (options.showFiles) out.push(`${chalk.bold('Files')}\n${describeFiles([...deploySteps, ...certPlan], { hiddenSettings: [...options.setFromEnv, ...options.generate] })}`);
  process.stdout.write(out.join('\n'));
}

function phase(name: string): void {
  process.stdout.write(`\n${chalk.bold.cyan(name)}\n`);
}

async function verifyStream(endpoint: RelayEndpoint, token: string, model: string): Promise<void> {
  const agent = endpointAgent(endpoint);
  try {
    const check = await streamedCompletion(endpoint, token, model, agent);
    const buffered = check.events > 2 && check.reads <= 1;
    const mark = buffered ? chalk.yellow('!') : chalk.green('✓');
    process.stdout.write(
      `${mark} streamed chat completion through nginx: first byte after ${formatDuration(check.ttfbMs)}, ${check.events} events in ${check.reads} reads over ${formatDuration(check.totalMs)}\n`,
    );
    if (buffered) process.stdout.write(chalk.yellow('  The whole stream arrived at once: something between here and the relay buffers it.\n'));
  } finally {
    await agent.close();
  }
}

function printNextSteps(origin: string, token: string, onlyFingerprint: boolean, envFile: string): void {
  const base = `${origin}/v1`;
  process.stdout.write(`\nBase URL: ${chalk.bold(base)}\n`);
  printSecretOnce({ label: 'RELAY_TOKEN', value: token, kept: `saved to ${envFile} (mode 600)`, show: terminalMayShowSecret(onlyFingerprint) });
  const out = [
    '',
    'Point your clients at it:',
    `  LibreChat (.env)     OPENAI_REVERSE_PROXY=${base}   OPENAI_API_KEY=<RELAY_TOKEN>`,
    `  Open WebUI           OPENAI_API_BASE_URL=${base}   OPENAI_API_KEY=<RELAY_TOKEN>`,
    `  openai (JavaScript)  new OpenAI({ baseURL: '${base}', apiKey: process.env.RELAY_TOKEN })`,
    `  openai (Python)      OpenAI(base_url="${base}", api_key=os.environ["RELAY_TOKEN"])`,
    `  curl                 curl ${base}/models -H "Authorization: Bearer $RELAY_TOKEN"`,
    `  Claude Code          ANTHROPIC_BASE_URL=${origin}   ANTHROPIC_AUTH_TOKEN=<RELAY_TOKEN>   (optional: ANTHROPIC_MODEL=gpt-5)`,
    '                       once the relay maps Claude models: relay deploy --set RELAY_ANTHROPIC_MODELS=opus=gpt-5,sonnet=gpt-5,haiku=gpt-5-mini',
    '',
    `Then: ${chalk.bold('relay logs -f')} to watch requests, ${chalk.bold('relay rotate-token')} to replace the token.`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

