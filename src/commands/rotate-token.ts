// `relay rotate-token`: a new value for RELAY_TOKEN ("default") or a named token, live on the running
// relay without a restart; the same rotation as `relay token rotate`, checked through nginx after.
import chalk from 'chalk';
import type { Command } from 'commander';
import { readEnvFileValue } from '../shared/env-local.js';
import { currentTls, requireRelayAppDir } from '../operations/deploy.js';
import { prepareRotation, verifyRotation } from '../operations/rotate-token.js';
import { DEFAULT_TOKEN_NAME } from '../shared/tokens-file.js';
import { readCaFile } from '../relay-endpoint.js';
import { appliedButUnchecked, applyNewToken, reportStream, tokenDestination } from './new-token.js';
import { printPlan, terminalMayShowSecret } from './output.js';
import { rotateNamedToken } from './token.js';
import { chooseSettings } from './project-settings.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { appDirOption, domainOption, envFileOption, graceOption } from './flags.js';

interface RotateOptions extends TargetOptions {
  /** Milliseconds. */
  grace: number;
  appDir?: string;
  envFile: string;
  save?: string;
  print?: boolean;
  dryRun?: boolean;
  caFile?: string;
  domain?: string;
  quietToken?: boolean;
}

export function registerRotateToken(program: Command): void {
  const command = program
    .command('rotate-token [name]')
    .description('Replace the relay token (or the named token NAME); the running relay switches without a restart or a dropped request.')
    .addOption(graceOption('keep accepting the old token this long (e.g. 10m), so clients can switch'))
    .addOption(envFileOption('local file the new RELAY_TOKEN is saved to (mode 600; other lines kept); for NAME, given explicitly, it is saved there as RELAY_TOKEN_<NAME>'))
    .option('--save <file>', 'save a named token\'s new value to this dotenv file as RELAY_TOKEN_<NAME> (mode 600)')
    .option('--print', 'print only the new token on stdout (progress goes to stderr), for scripts')
    .option('--dry-run', 'print what would be written and run, change nothing')
    .addOption(domainOption('the relay\'s domain (default: from relay.json)'))
    .addOption(appDirOption())
    .option('--ca-file <pem>', 'trust this CA when verifying through HTTPS (for private ACME CAs)')
    .option('--quiet-token', 'print only the new token\'s fingerprint');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
RELAY_TOKEN is the "default" entry of the host's token registry (tokens.json, mode 600, hashes
only), beside the named tokens: its new hash is written there and the relay re-reads it at once;
requests in flight and open streams are not touched. Without --grace the old token stops working
at the switch. As soon as the host holds the new hash the token is saved to --env-file as
RELAY_TOKEN (and shown once on a terminal); then the command checks through nginx that the new
token works (and that the old one from --env-file does not, once any grace is over). If that check
fails, the rotation stands: use the saved token, and do not re-run to retry (that rotates again).

A named token without a terminal needs --save FILE, an explicit --env-file or --print; with none
of them nothing is changed, so a script never loses the new value.

Examples:
  $ relay rotate-token
  $ relay rotate-token --grace 15m    # both tokens work for 15 minutes
  $ relay rotate-token --dry-run      # the plan, nothing changed
  $ relay rotate-token ci-bot --save .env.ci       # a named token (relay token add), same as relay token rotate
  $ TOKEN=$(relay rotate-token ci-bot --print)`,
    )
    .action(async (name: string | undefined, options: RotateOptions) => {
      // `default` is RELAY_TOKEN: the same rotation as with no name.
      if (name !== undefined && name !== DEFAULT_TOKEN_NAME) {
        // --env-file given on the command line is where the operator wants the value; never ignored.
        const save = options.save ?? (command.getOptionValueSource('envFile') === 'cli' ? options.envFile : undefined);
        await rotateNamedToken(name, { ...options, ...(save === undefined ? {} : { save }) });
        return;
      }
      const terminal = terminalMayShowSecret(options.quietToken);
      const destination = tokenDestination(DEFAULT_TOKEN_NAME, { save: options.envFile, variable: 'RELAY_TOKEN', print: options.print ?? false }, terminal);
      const out = reportStream(destination);
      const { appDir, domain } = await chooseSettings(options);
      const ca = await readCaFile(options.caFile);
      await withHost(options, async (host) => {
        // It rewrites tokens.json there: the directory must be relay's (a dry run says so too).
        await requireRelayAppDir(host, appDir);
        const localToken = (await readEnvFileValue(options.envFile, 'RELAY_TOKEN'))?.trim() || undefined;
        const rotation = await prepareRotation(host, appDir, options.grace, Date.now(), localToken);
        if (options.dryRun) {
          printPlan(rotation.steps, `the new token would be saved to ${options.envFile} as RELAY_TOKEN`, out);
          return;
        }
        const serverName = domain ?? host.address;
        const tls = await currentTls(host, serverName);
        await applyNewToken(host, rotation.steps, destination, rotation.newToken, 'rotate');
        try {
          await verifyRotation({ origin: `${tls ? 'https' : 'http'}://${serverName}`, address: host.address, ...(ca ? { ca } : {}) }, rotation);
        } catch (error) {
          throw appliedButUnchecked(destination, 'rotate', error);
        }
        out.write(`${chalk.green('✓')} the relay accepts the new token through nginx`);
        out.write(rotation.oldValidUntil ? `; the old one until ${rotation.oldValidUntil.toISOString()}\n` : ' and refuses the old one\n');
      });
    });
}
