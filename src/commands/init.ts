// `relay init`: one command from a fresh host to a working HTTPS relay, safe to run again.
import chalk from 'chalk';
import type { Command } from 'commander';
import { formatDuration } from '../duration.js';
import { writeEnvFileValue } from '../env-local.js';
import { ConfigError, RelayError } from '../errors.js';
import { prepareDeploy } from '../operations/deploy.js';
import type { CertSettings } from '../operations/cert.js';
import { runPlan } from '../plan/executor.js';
import { DEFAULT_BASE_IMAGE } from '../plan/deploy-plan.js';
import { buildInstallPlan, parseDockerSource } from '../plan/install-plan.js';
import { DEFAULT_APP_DIR } from '../plan/operate.js';
import { parseOsRelease, READ_OS_RELEASE } from '../plan/preflight.js';
import { endpointAgent, readCaFile, streamedCompletion, type RelayEndpoint } from '../relay-endpoint.js';
import { tokenFingerprint } from '../token.js';
import { addCertOptions, certSettings, issueCertificate, type CertOptions } from './cert.js';
import { collect } from './deploy.js';
import { printSummary, progressEvents } from './output.js';
import { projectSettings, rememberSettings } from './project-settings.js';
import { addSecretSettingOptions, saveGenerated, settingPairs, type SettingFlags } from './setting-options.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';

interface InitOptions extends TargetOptions, CertOptions, SettingFlags {
  tls: boolean;
  appDir?: string;
  dockerSource: string;
  baseImage: string;
  openaiBaseUrl?: string;
  envFile: string;
  verify: boolean;
  verifyModel: string;
  quietToken?: boolean;
}

export function registerInit(program: Command): void {
  const command = program
    .command('init')
    .description('Everything on a fresh host: install, deploy, HTTPS certificate, and a real streamed request to prove it.')
    .option('--domain <name>', "the relay's domain; its A record must point at the host")
    .option('--no-tls', 'stay on plain HTTP (IP-only tests); no certificate')
    .option('--docker-source <source>', "'official' (Docker's apt repository) or 'distro' (the distribution's packages)", 'official')
    .option('--base-image <image>', 'Node 24 image the relay image is built FROM', DEFAULT_BASE_IMAGE)
    .option('--openai-base-url <url>', 'upstream the relay forwards to (default: https://api.openai.com)')
    .option('--env-file <path>', 'local file holding OPENAI_API_KEY (only that line is sent); RELAY_TOKEN is saved there too', '.env.local')
    .option('--app-dir <path>', `where the relay lives on the host (default: ${DEFAULT_APP_DIR})`)
    .option('--set <KEY=VALUE>', 'a relay setting for the host, as for `relay deploy --set` (repeatable)', collect, [])
    .option('--verify-model <model>', 'model for the final streamed test request (a few tokens)', 'gpt-4o-mini')
    .option('--no-verify', 'skip the final streamed test request')
    .option('--quiet-token', 'print only the token\'s fingerprint, never the token');
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
  $ relay init --host ops@203.0.113.7 -i ~/.ssh/id_ed25519 --no-tls`,
    )
    .action(async (options: InitOptions) => {
      const started = performance.now();
      const project = await projectSettings();
      const appDir = options.appDir ?? project.appDir ?? DEFAULT_APP_DIR;
      const domain = options.domain ?? project.domain;
      const dockerSource = parseDockerSource(options.dockerSource);
      // Everything that can be refused is refused before the host is touched.
      const cert: CertSettings | undefined = options.tls ? certSettings(options, domain, appDir, project.email) : undefined;
      const ca = await readCaFile(options.caFile);
      const set = settingPairs(options);

      await withHost(options, async (host) => {
        const serverName = domain ?? host.address;
        phase('Install');
        const os = parseOsRelease((await host.run(READ_OS_RELEASE)).stdout);
        process.stdout.write(chalk.dim(`${host.label}: ${os.prettyName}\n`));
        printSummary(await runPlan(host, buildInstallPlan({ os, dockerSource }), progressEvents()));

        phase('Deploy');
        const deploy = await prepareDeploy(host, {
          appDir,
          serverName,
          baseImage: options.baseImage,
          envFile: options.envFile,
          set,
          generate: options.generate,
          tlsPending: cert !== undefined,
          ...(options.openaiBaseUrl === undefined ? {} : { openaiBaseUrl: options.openaiBaseUrl }),
        });
        await saveGenerated(options.envFile, deploy.generated);
        printSummary(await runPlan(host, deploy.steps, progressEvents()));
        await writeEnvFileValue(options.envFile, 'RELAY_TOKEN', deploy.token.token);
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
  const shown = process.stdout.isTTY && !onlyFingerprint;
  const out = [
    '',
    `Base URL: ${chalk.bold(base)}`,
    shown ? `Token (shown once; also saved to ${envFile} as RELAY_TOKEN): ${chalk.bold(token)}` : `Token: ${tokenFingerprint(token)}, saved to ${envFile} as RELAY_TOKEN (mode 600)`,
    '',
    'Point your clients at it:',
    `  LibreChat (.env)     OPENAI_REVERSE_PROXY=${base}   OPENAI_API_KEY=<RELAY_TOKEN>`,
    `  Open WebUI           OPENAI_API_BASE_URL=${base}   OPENAI_API_KEY=<RELAY_TOKEN>`,
    `  openai (JavaScript)  new OpenAI({ baseURL: '${base}', apiKey: process.env.RELAY_TOKEN })`,
    `  openai (Python)      OpenAI(base_url="${base}", api_key=os.environ["RELAY_TOKEN"])`,
    `  curl                 curl ${base}/models -H "Authorization: Bearer $RELAY_TOKEN"`,
    '',
    `Then: ${chalk.bold('relay logs -f')} to watch requests, ${chalk.bold('relay rotate-token')} to replace the token.`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

