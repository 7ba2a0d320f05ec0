// `relay token add|list|revoke|rotate`: named client tokens on the host, live without a restart.
import type { Command } from 'commander';
import {
  planTokenAdd,
  planTokenRevoke,
  planTokenRotate,
  readHostTokens,
  readUsage,
  tokenListing,
  type AddOptions,
  type TokenChange,
  type TokenListing,
} from '../operations/tokens.js';
import { requireRelayAppDir } from '../operations/deploy.js';
import { describePlan } from '../plan/render-plan.js';
import { applyNewToken, reportStream, tokenDestination, type TokenChangeKind } from './new-token.js';
import { printJson, printTable, runWithProgress, terminalSafe } from './output.js';
import { chooseSettings } from './project-settings.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { appDirOption, durationOption, graceOption, wholeNumberOption } from './flags.js';

interface TokenOptions extends TargetOptions {
  appDir?: string;
  dryRun?: boolean;
  /** Dotenv file the new token is saved to, as RELAY_TOKEN_<NAME> (mode 600). */
  save?: string;
  /** Only the new token on stdout. */
  print?: boolean;
}

interface AddFlags extends TokenOptions {
  /** Milliseconds. */
  expires?: number;
  rpm?: number;
  concurrency?: number;
}

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('Named client tokens: add, list, revoke, rotate. Stored on the host as hashes only; applied without a restart.')
    .addHelpText(
      'after',
      `
Examples:
  $ relay token add ci --expires 30d --rpm 60 --concurrency 4
  $ relay token list --json
  $ relay token rotate ci --grace 10m
  $ relay token revoke ci`,
    );

  const common = (command: Command) => {
    command
      .addOption(appDirOption())
      .option('--dry-run', 'print what would be written and run, change nothing');
    return addTargetOptions(command);
  };

  common(
    token
      .command('add <name>')
      .description('Create a token; it is shown once (on a terminal) and only its hash is kept on the host.')
      .addOption(durationOption('--expires <duration>', 'stop accepting it after this long, e.g. 30d or 12h (default: never)', { example: '30d', positive: true }))
      .addOption(wholeNumberOption('--rpm <n>', 'requests per minute (default: unlimited)', { min: 1, example: 60 }))
      .addOption(wholeNumberOption('--concurrency <n>', 'requests in flight at once (default: unlimited)', { min: 1, example: 4 }))
      .option('--save <file>', 'save the token to this dotenv file as RELAY_TOKEN_<NAME> (mode 600), e.g. for scripts')
      .option('--print', 'print only the token on stdout (progress goes to stderr), for TOKEN=$(relay token add NAME --print)'),
  )
    .addHelpText(
      'after',
      `
The token is shown once when stdout is a terminal. Without a terminal it must go somewhere you
chose: --save FILE (a dotenv line RELAY_TOKEN_<NAME>, mode 600) or --print; with neither, relay
refuses before touching the host. It is saved or printed as soon as the host holds it.

Examples:
  $ relay token add alice
  $ relay token add ci-bot --expires 30d --rpm 60 --concurrency 2 --save .env.ci
  $ TOKEN=$(relay token add ci-bot --print)`,
    )
    .action(async (name: string, flags: AddFlags) => {
      const options: AddOptions = {};
      if (flags.expires !== undefined) options.expiresInMs = flags.expires;
      if (flags.rpm !== undefined) options.rpm = flags.rpm;
      if (flags.concurrency !== undefined) options.concurrency = flags.concurrency;
      await applyChange(flags, (appDir, file) => planTokenAdd(appDir, file, name, options, Date.now()), name, 'add');
    });

  common(token.command('revoke <name>').description('Stop accepting a token at once; requests in flight finish.')).addHelpText(
    'after',
    `
Example:
  $ relay token revoke alice`,
  ).action(async (name: string, flags: TokenOptions) => {
    await applyChange(flags, (appDir, file) => planTokenRevoke(appDir, file, name, Date.now()), name, undefined);
  });

  common(
    token
      .command('rotate <name>')
      .description('Give a token a new value; the old one keeps working for --grace.')
      .addOption(graceOption('keep accepting the old value this long (e.g. 10m)'))
      .option('--save <file>', 'save the new value to this dotenv file as RELAY_TOKEN_<NAME> (mode 600)')
      .option('--print', 'print only the new value on stdout (progress goes to stderr)'),
  ).addHelpText(
    'after',
    `
Without a terminal the new value needs --save FILE or --print, or nothing is changed.

Examples:
  $ relay token rotate ci-bot --grace 15m
  $ relay token rotate ci-bot --grace 15m --save .env.ci`,
  ).action(rotateNamedToken);

  addTargetOptions(
    token
      .command('list')
      .description('Show the tokens: name, state, created, expires, last used, limits. Never a token or a hash.')
      .option('--json', 'print JSON instead of a table')
      .addOption(appDirOption()),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ relay token list
  $ relay token list --json | jq '.[] | select(.state == "active") | .name'`,
    )
    .action(async (flags: TokenOptions & { json?: boolean }) => {
      const { appDir } = await chooseSettings(flags);
      const rows = await withHost(flags, async (host) => {
        const file = await readHostTokens(host, appDir);
        // Last-used comes from the relay's usage store; a relay without one still lists its tokens.
        const lastUsed = await readUsage(host, '1h').then((report) => report.lastUsed, () => ({}));
        return tokenListing(file, lastUsed, Date.now());
      });
      if (flags.json) printJson(rows);
      else printListing(rows);
    });
}

/** `relay token rotate NAME`, "default" (RELAY_TOKEN) included, also reached as `relay rotate-token NAME`; `grace` in ms. */
export async function rotateNamedToken(name: string, flags: TokenOptions & { grace: number }): Promise<void> {
  await applyChange(flags, (appDir, file) => planTokenRotate(appDir, file, name, flags.grace, Date.now()), name, 'rotate');
}

/** `makes`: the change creates a new token value (add, rotate), which must reach the operator. */
async function applyChange(
  flags: TokenOptions,
  plan: (appDir: string, file: Awaited<ReturnType<typeof readHostTokens>>) => TokenChange,
  name: string,
  makes: TokenChangeKind | undefined,
): Promise<void> {
  // Before any connection: a new token with nowhere to go is refused while nothing has changed.
  const save = flags.save === undefined ? {} : { save: flags.save };
  const destination = makes === undefined ? undefined : tokenDestination(name, { ...save, print: flags.print ?? false });
  const out = destination === undefined ? process.stdout : reportStream(destination);
  const { appDir } = await chooseSettings(flags);
  await withHost(flags, async (host) => {
    // tokens.json is written there: the directory must be relay's (a dry run says so too).
    await requireRelayAppDir(host, appDir);
    const change = plan(appDir, await readHostTokens(host, appDir));
    if (flags.dryRun) {
      out.write(describePlan(change.steps));
      return;
    }
    if (destination !== undefined && change.token !== undefined) {
      await applyNewToken(host, change.steps, destination, change.token, makes!);
      return;
    }
    await runWithProgress(host, change.steps, out);
  });
}

function printListing(rows: TokenListing[]): void {
  if (rows.length === 0) {
    process.stdout.write(
      'No tokens: nothing is deployed here yet (or it was deployed before tokens.json held RELAY_TOKEN). ' +
        '`relay deploy` registers RELAY_TOKEN ("default"); `relay token add NAME` adds more.\n',
    );
    return;
  }
  // Times come from the host (tokens.json, the usage store): no control characters on the terminal.
  const day = (iso: string | null) => (iso === null ? '-' : terminalSafe(iso).slice(0, 16).replace('T', ' '));
  const table = [['NAME', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED', 'RPM', 'CONCURRENCY']];
  for (const row of rows) table.push([row.name, row.state, day(row.created), day(row.expires), day(row.lastUsed), String(row.rpm ?? '-'), String(row.concurrency ?? '-')]);
  printTable(table);
}
