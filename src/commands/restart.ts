// `relay restart`: restart the relay container and wait until it is healthy again.
import type { Command } from 'commander';
import { requireRelayAppDir } from '../operations/deploy.js';
import { restartSteps } from '../plan/operate.js';
import { printPlan, runWithProgress } from './output.js';
import { chooseSettings } from './project-settings.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';
import { appDirOption } from './flags.js';

interface RestartOptions extends TargetOptions {
  appDir?: string;
  dryRun?: boolean;
}

export function registerRestart(program: Command): void {
  const command = program
    .command('restart')
    .description('Restart the relay container (streams in flight get RELAY_SHUTDOWN_GRACE to finish) and wait until healthy.')
    .addOption(appDirOption())
    .option('--dry-run', 'print what would run and change nothing (does not connect)');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Examples:
  $ relay restart
  $ relay restart --host root@203.0.113.7`,
    )
    .action(async (options: RestartOptions) => {
      const { appDir } = await chooseSettings(options);
      const steps = restartSteps(appDir);
      if (options.dryRun) {
        printPlan(steps);
        return;
      }
      await withHost(options, async (host) => {
        // compose.yaml there names what restarts: it must be the one relay deployed.
        await requireRelayAppDir(host, appDir);
        await runWithProgress(host, steps);
      });
    });
}
