// `relay deploy`: the bundled relay built into an image on the host, started behind nginx, verified.
import chalk from 'chalk';
import type { Command } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { parseTarget } from '../host/target.js';
import type { DefaultTokenChoice } from '../operations/default-token.js';
import { checkDeployInputs, dryRunDeployPlan, prepareDeploy, type DeploySettings } from '../operations/deploy.js';
import { DEFAULT_BASE_IMAGE } from '../plan/deploy-plan.js';
import { describeFiles } from '../plan/render-plan.js';
import { RELAY_VERSION } from '../shared/version.js';
import { tokenFingerprint } from '../shared/token.js';
import { printPlan, printSecretOnce, runWithProgress, terminalMayShowSecret } from './output.js';
import { chooseSettings, rememberSettings } from './project-settings.js';
import { saveToEnvFile } from './env-file.js';
import { addSecretSettingOptions, collect, saveGenerated, settingPairs, type SettingFlags } from './setting-options.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { appDirOption, domainOption, envFileOption } from './flags.js';

interface DeployOptions extends TargetOptions, SettingFlags {
  domain?: string;
  appDir?: string;
  baseImage: string;
  openaiBaseUrl?: string;
  envFile: string;
  rotateToken?: boolean;
  unset: string[];
  dryRun?: boolean;
  showFiles?: boolean;
}

export function registerDeploy(program: Command): void {
  const command = program
    .command('deploy')
    .description('Build and start the relay on the host behind nginx, then verify it with a real request.')
    .addOption(domainOption('nginx server_name (default: the host address)'))
    .addOption(appDirOption())
    .option('--base-image <image>', 'Node 24 image the relay image is built FROM', DEFAULT_BASE_IMAGE)
    .option('--openai-base-url <url>', 'upstream the relay forwards to (default: https://api.openai.com)')
    .addOption(envFileOption('local file holding OPENAI_API_KEY (only that line is sent to the host) and RELAY_TOKEN (only its hash is)'))
    .option('--rotate-token', 'replace RELAY_TOKEN with a new one at once (clients must be updated; `relay rotate-token --grace` is gentler)')
    .option('--set <KEY=VALUE>', 'a relay setting for the host, e.g. RELAY_MODELS=gpt-4o-mini (repeatable; kept on later deploys)', collect, [])
    .option('--unset <KEY>', 'remove a relay setting set earlier (repeatable)', collect, []);
  addSecretSettingOptions(command)
    .option('--dry-run', 'print the plan and change nothing (does not connect)')
    .option('--show-files', 'with --dry-run: print every file the plan writes (secrets as placeholders)');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
What reaches the host: dist/relay-server.mjs, dist/relay-core.cjs and dist/relay-tokenizer.cjs, a
Dockerfile, compose.yaml, the nginx vhost, a .env (mode 600, root only) holding OPENAI_API_KEY from
--env-file and, if given, OPENAI_BASE_URL, and tokens.json (mode 600) holding the SHA-256 of
RELAY_TOKEN as the "default" token. Nothing else from --env-file leaves this machine.
RELAY_TOKEN is generated on the first deploy and saved to --env-file before the host changes; later
deploys keep it and verify the relay with it, so it must be there. A host deployed before tokens.json
held RELAY_TOKEN in clear in its .env: the next deploy moves its hash to tokens.json (same token,
saved to --env-file), then rewrites .env without it.
Re-running with nothing changed reports "unchanged" and does not restart the container.

Examples:
  $ relay deploy --host root@203.0.113.7 --domain relay.example.com
  $ relay deploy                                   # host and domain from relay.json
  $ relay deploy --base-image node:24-slim --dry-run
  $ relay deploy --set RELAY_MODELS=gpt-4o-mini,fast=gpt-4o-mini --set RELAY_CORS_ORIGINS=https://app.example.com
  $ read -rs REDIS_URL && export REDIS_URL && relay deploy --set-from-env REDIS_URL
  $ relay deploy --generate RELAY_METRICS_TOKEN      # saved to .env.local; kept on later deploys
  $ relay deploy --set RELAY_DUMP=bodies            # debug a client: relay logs --dump; then --set RELAY_DUMP=off

Settings --set can write: RELAY_PATH_PREFIX, RELAY_CORS_ORIGINS, RELAY_MODELS, RELAY_OLLAMA_PATH,
RELAY_ANTHROPIC, RELAY_ANTHROPIC_MODELS, RELAY_MODE, RELAY_OPENAI_ORGANIZATION, RELAY_OPENAI_PROJECT,
RELAY_METRICS_TOKEN, REDIS_URL, RELAY_PASSTHROUGH_RPM, RELAY_PASSTHROUGH_CONCURRENCY, the
RELAY_*_TIMEOUT / RELAY_SHUTDOWN_GRACE timings, HTTPS_PROXY / HTTP_PROXY / NO_PROXY and
RELAY_DUMP / RELAY_DUMP_MAX_BODY (see the README). They go to the root-only .env.
Secrets (RELAY_METRICS_TOKEN, RELAY_OLLAMA_PATH, a REDIS_URL with a password) do not belong in argv,
where ps, shell history and CI logs see them: use --set-from-env KEY or --generate KEY instead.`,
    )
    .action(async (options: DeployOptions) => {
      const { project, appDir, domain } = await chooseSettings(options);
      const settings: DeploySettings = {
        appDir,
        serverName: domain ?? hostAddress(options.host ?? project.host),
        baseImage: options.baseImage,
        ...(options.openaiBaseUrl === undefined ? {} : { openaiBaseUrl: options.openaiBaseUrl }),
        envFile: options.envFile,
        rotateToken: options.rotateToken ?? false,
        set: settingPairs(options),
        unset: options.unset,
        generate: options.generate,
      };

      // Before connecting, as a dry run would: a bad --set, --unset or --generate touches nothing.
      await checkDeployInputs(settings);
      if (options.dryRun) {
        const steps = await dryRunDeployPlan(settings);
        printPlan(steps, 'the .env values are placeholders');
        if (options.showFiles) process.stdout.write(`\nFiles:\n\n${describeFiles(steps, { hiddenSettings: [...options.setFromEnv, ...options.generate] })}`);
        return;
      }

      await withHost(options, async (host) => {
        const prepared = await prepareDeploy(host, settings);
        await saveGenerated(options.envFile, prepared.generated);
        // Before the host changes: it will hold only the token's hash.
        if (prepared.token.origin !== 'kept') await saveToEnvFile(options.envFile, 'RELAY_TOKEN', prepared.token.token);
        process.stdout.write(`Deploying relay ${RELAY_VERSION} to ${host.label} (${settings.serverName})\n`);
        await runWithProgress(host, prepared.steps);
        await rememberSettings({ domain, appDir });
        printToken(prepared.token.origin, prepared.token.token, options.envFile);
        const scheme = prepared.tls ? 'https' : 'http';
        process.stdout.write(`Relay: ${chalk.bold(`${scheme}://${settings.serverName}/v1`)}${prepared.tls ? '' : `  (${chalk.dim('`relay cert` adds HTTPS')})`}\n`);
      });
    });
}

function hostAddress(target: string | undefined): string {
  if (!target) {
    throw new ConfigError('No server name: pass --domain, or --host so its address can serve as one.', {
      fix: 'relay deploy --host root@203.0.113.7 --domain relay.example.com',
    });
  }
  return parseTarget(target).host;
}

function printToken(origin: DefaultTokenChoice['origin'], token: string, envFile: string): void {
  if (origin === 'kept') {
    process.stdout.write(`RELAY_TOKEN kept (${tokenFingerprint(token)})\n`);
    return;
  }
  const saved = `saved to ${envFile} as RELAY_TOKEN (mode 600)`;
  if (origin === 'migrated') {
    process.stdout.write(`RELAY_TOKEN kept (${tokenFingerprint(token)}), moved to tokens.json as "default" (the host keeps only its hash); ${saved}\n`);
    return;
  }
  printSecretOnce({ label: `RELAY_TOKEN ${origin}`, value: token, kept: `clients send it as "Authorization: Bearer <token>"; ${saved}`, show: terminalMayShowSecret() });
}
