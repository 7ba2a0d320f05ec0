// `relay status`: is the host reachable, the container up and healthy, nginx active, the cert valid.
import chalk from 'chalk';
import type { Command } from 'commander';
import { RelayError } from '../shared/errors.js';
import { defaultTokenFingerprint, readHostTokens } from '../operations/tokens.js';
import { parseStatus, statusCommand, type RelayStatus } from '../plan/operate.js';
import { chooseSettings } from './project-settings.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { printJson, terminalSafe } from './output.js';
import { appDirOption, domainOption } from './flags.js';

interface StatusOptions extends TargetOptions {
  appDir?: string;
  domain?: string;
  json?: boolean;
}

/** `tokenFingerprint`: RELAY_TOKEN's, from the "default" hash in tokens.json. */
export type StatusReport = { host: string; reachable: true; healthy: boolean; tokenFingerprint?: string } & RelayStatus;

export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .description('Show the relay on the host: container state and health, image version, nginx, certificate, token fingerprint.')
    .option('--json', 'print one JSON object instead of text')
    .addOption(domainOption('domain whose certificate to report (default: from relay.json)'))
    .addOption(appDirOption());
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Exit status is 0 when the container is healthy and nginx active, 1 otherwise. RELAY_TOKEN is shown
as a fingerprint (sha256:...) of the hash the host keeps as "default" in tokens.json; the host
never holds the token itself.

Examples:
  $ relay status
  $ relay status --json | jq .container.health`,
    )
    .action(async (options: StatusOptions) => {
      const { appDir, domain } = await chooseSettings(options);
      let report: StatusReport;
      try {
        report = await withHost(options, async (host) => {
          const script = domain === undefined ? statusCommand({ appDir }) : statusCommand({ appDir, domain });
          const result = await host.run(script, { sudo: true });
          if (result.code !== 0) throw new RelayError(`status script failed on ${host.label}: ${result.stderr.trim()}`);
          // What the host printed ends up on the terminal: no control characters in it.
          const status = parseStatus(terminalSafe(result.stdout));
          // An unreadable tokens.json is reported as no token, not as an unreachable host.
          const fingerprint = await readHostTokens(host, appDir).then(defaultTokenFingerprint, () => undefined);
          const healthy = status.container.health === 'healthy' && status.nginx.active;
          return { host: host.label, reachable: true as const, healthy, ...status, ...(fingerprint === undefined ? {} : { tokenFingerprint: fingerprint }) };
        });
      } catch (error) {
        if (!options.json || !(error instanceof RelayError)) throw error;
        printJson({ reachable: false, error: error.message, fix: error.fix });
        process.exitCode = 1;
        return;
      }
      if (options.json) printJson(report);
      else printStatus(report);
      if (!report.healthy) process.exitCode = 1;
    });
}

function printStatus(r: StatusReport): void {
  const good = (ok: boolean, text: string) => (ok ? chalk.green(text) : chalk.red(text));
  const rows: Array<[string, string]> = [
    ['host', `${r.host} ${chalk.green('reachable')}`],
    ['container', `${good(r.container.state === 'running', r.container.state)}, ${good(r.container.health === 'healthy', r.container.health)}${r.container.startedAt ? chalk.dim(` since ${r.container.startedAt}`) : ''}${r.container.restarts ? chalk.yellow(` (${r.container.restarts} restarts)`) : ''}`],
    ['image', r.image.id ? `${r.image.version ?? 'unknown version'} ${chalk.dim(r.image.id.slice(0, 19))}` : chalk.red('none')],
    ['nginx', good(r.nginx.active, r.nginx.state)],
    ['boot unit', good(r.systemdUnit === 'enabled', `relay.service ${r.systemdUnit}`)],
    ['certificate', r.cert ? good(r.cert.daysLeft > 14, `expires ${r.cert.notAfter} (${r.cert.daysLeft} days)`) : chalk.dim('none (HTTP only; `relay cert` adds HTTPS)')],
    ['token', r.tokenFingerprint ?? chalk.red('no "default" token in tokens.json (`relay deploy` registers RELAY_TOKEN there)')],
  ];
  for (const [name, value] of rows) process.stdout.write(`${name.padEnd(12)} ${value}\n`);
}
