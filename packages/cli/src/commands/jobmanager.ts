/**
 * `freshet jobmanager [flags]`: runs a JobManager in the foreground until
 * SIGINT or SIGTERM. Flags are the JobManager's own (`freshet jobmanager
 * --help`), passed through unchanged so there is one definition of them.
 */
import type { Command } from 'commander';
import { JOBMANAGER_USAGE, main } from '@freshet/jobmanager';
import { CliError } from '../output.js';

const usage = JOBMANAGER_USAGE.replace('freshet-jobmanager', 'freshet jobmanager');

/** Registers `freshet jobmanager`. */
export function register(program: Command): void {
  program
    .command('jobmanager')
    .description('Start a JobManager in the foreground (tRPC API, TaskManager registry, health monitor)')
    .argument('[flags...]', 'JobManager flags, see --help')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', `\n${usage}`)
    .action(async (flags: string[]) => {
      if (flags.includes('--help') || flags.includes('-h')) {
        process.stdout.write(usage);
        return;
      }
      try {
        await main(flags);
      } catch (err) {
        if (err instanceof Error && err.name === 'ConfigError') throw new CliError(err.message, 2);
        throw err;
      }
    });
}
