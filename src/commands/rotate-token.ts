// `relay rotate-token`: a new relay token, live on the running relay without a restart.
import chalk from 'chalk';
import type { Command } from 'commander';
import { parseDuration } from '../duration.js';
import { writeEnvFileValue } from '../env-local.js';
import { currentTls } from '../operations/deploy.js';
import { prepareRotation, verifyRotation } from '../operations/rotate-token.js';
import { runPlan } from '../plan/executor.js';
import { DEFAULT_APP_DIR } from '../plan/operate.js';
import { readCaFile } from '../relay-endpoint.js';
import { tokenFingerprint } from '../token.js';
import { printSummary, progressEvents } from './output.js';
import { rotateNamedToken } from './token.js';
import { projectSettings } from './project-settings.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';

interface RotateOptions extends TargetOptions {
  grace: string;
  appDir?: string;
  envFile: string;
  caFile?: string;
  domain?: string;
  quietToken?: boolean;
}

export function registerRotateToken(program: Command): void {
  const command = program
    .command('rotate-token [name]')
    .description('Replace the relay token (or the named token NAME); the running relay switches without a restart or a dropped request.')
    .option('--grace <duration>', 'keep accepting the old token this long (e.g. 10m), so clients can switch', '0')
    .option('--env-file <path>', 'local file the new RELAY_TOKEN is saved to (mode 600; other lines kept)', '.env.local')
    .option('--domain <name>', 'the relay\'s domain (default: from relay.json)')
    .option('--app-dir <path>', `where the relay lives on the host (default: from relay.json, else ${DEFAULT_APP_DIR})`)
    .option('--ca-file <pem>', 'trust this CA when verifying through HTTPS (for private ACME CAs)')
    .option('--quiet-token', 'print only the new token\'s fingerprint');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
The new token is written to the host's .env (mode 600) and the relay re-reads it at once;
requests in flight and open streams are not touched. Without --grace the old token stops working
at the switch. The command checks through nginx that the new token works (and the old one does not,
once any grace is over), then prints the new token once and saves it to --env-file as RELAY_TOKEN.

Examples:
  $ relay rotate-token
  $ relay rotate-token --grace 15m    # both tokens work for 15 minutes
  $ relay rotate-token ci-bot         # a named token (relay token add), same as relay token rotate`,
    )
    .action(async (name: string | undefined, options: RotateOptions) => {
      if (name !== undefined) {
        await rotateNamedToken(name, options);
        return;
      }
      const graceMs = parseDuration(options.grace, '--grace');
      const project = await projectSettings();
      const appDir = options.appDir ?? project.appDir ?? DEFAULT_APP_DIR;
      const ca = await readCaFile(options.caFile);
      await withHost(options, async (host) => {
        const rotation = await prepareRotation(host, appDir, graceMs);
        const serverName = options.domain ?? project.domain ?? host.address;
        const tls = await currentTls(host, serverName);
        const result = await runPlan(host, rotation.steps, progressEvents());
        // Saved before the check: if the check fails, the token on the host is still not lost.
        await writeEnvFileValue(options.envFile, 'RELAY_TOKEN', rotation.newToken);
        await verifyRotation({ origin: `${tls ? 'https' : 'http'}://${serverName}`, address: host.address, ...(ca ? { ca } : {}) }, rotation);
        printSummary(result);
        process.stdout.write(`${chalk.green('✓')} the relay accepts the new token through nginx`);
        process.stdout.write(rotation.oldValidUntil ? `; the old one until ${rotation.oldValidUntil.toISOString()}\n` : ' and refuses the old one\n');
        printNewToken(rotation.newToken, options.envFile, options.quietToken ?? false);
      });
    });
}

/** Shown once, and only to a person at a terminal; logs and CI output get the fingerprint. */
export function printNewToken(token: string, envFile: string, quiet: boolean): void {
  const fingerprint = tokenFingerprint(token);
  if (process.stdout.isTTY && !quiet) {
    process.stdout.write(`New RELAY_TOKEN (${fingerprint}), shown once:\n  ${chalk.bold(token)}\n`);
  } else {
    process.stdout.write(`New RELAY_TOKEN ${fingerprint}\n`);
  }
  process.stdout.write(chalk.dim(`Saved to ${envFile} as RELAY_TOKEN (mode 600).\n`));
}
