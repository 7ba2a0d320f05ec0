// `relay install`: a fresh Ubuntu/Debian host gets Docker Engine + Compose v2, nginx and certbot.
import chalk from 'chalk';
import type { Command } from 'commander';
import { buildInstallPlan, type DockerSource } from '../plan/install-plan.js';
import { parseOsRelease, READ_OS_RELEASE } from '../plan/preflight.js';
import { describePlan } from '../plan/render-plan.js';
import { runWithProgress, terminalSafe } from './output.js';
import { addTargetOptions, withHost, type TargetOptions } from './target-options.js';
import { dockerSourceOption } from './flags.js';

interface InstallOptions extends TargetOptions {
  dockerSource: DockerSource;
  dryRun?: boolean;
}

export function registerInstall(program: Command): void {
  const command = program
    .command('install')
    .description('Prepare a fresh Ubuntu 22.04/24.04 or Debian 12/13 host: Docker Engine + Compose v2, nginx, certbot.')
    .addOption(dockerSourceOption("where Docker comes from: 'official' (Docker's apt repository) or 'distro' (the distribution's docker.io + compose packages)"))
    .option('--dry-run', 'print the plan (reads /etc/os-release only) and change nothing');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Safe to run again: every step checks the host first and reports "unchanged" when it is in place.
Before changing anything it waits (bounded) for cloud-init and for other apt/dpkg runs, and checks
the free disk space on / and /var.

Examples:
  $ relay install --host root@203.0.113.7
  $ relay install --host ops@relay.example.com -i ~/.ssh/id_ed25519 --docker-source distro
  $ relay install --host myvps --dry-run        # myvps from ~/.ssh/config`,
    )
    .action(async (options: InstallOptions) => {
      const { dockerSource } = options;
      await withHost(options, async (host) => {
        const os = parseOsRelease((await host.run(READ_OS_RELEASE)).stdout);
        const steps = buildInstallPlan({ os, dockerSource });
        if (options.dryRun) {
          process.stdout.write(`Plan for ${host.label} (${terminalSafe(os.prettyName)}); nothing is changed:\n\n${describePlan(steps)}`);
          return;
        }
        process.stdout.write(`Installing on ${host.label} (${terminalSafe(os.prettyName)}), Docker from ${dockerSource === 'official' ? "Docker's apt repository" : 'the distribution'}\n`);
        await runWithProgress(host, steps);
        process.stdout.write(`Next: ${chalk.bold('relay deploy')}\n`);
      });
    });
}
