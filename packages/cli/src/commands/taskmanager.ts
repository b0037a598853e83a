/**
 * `freshet taskmanager [flags]`: runs a TaskManager in the foreground until
 * SIGINT or SIGTERM (it then deregisters). Flags are the TaskManager's own
 * (`freshet taskmanager --help`), passed through unchanged.
 */
import type { Command } from 'commander';
import { main, TASKMANAGER_USAGE } from '@freshet/taskmanager';
import { CliError } from '../output.js';

const usage = TASKMANAGER_USAGE.replace('freshet-taskmanager', 'freshet taskmanager');

/** Registers `freshet taskmanager`. */
export function register(program: Command): void {
  program
    .command('taskmanager')
    .description('Start a TaskManager in the foreground and register it with a JobManager')
    .argument('[flags...]', 'TaskManager flags, see --help')
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
        if (
          err instanceof Error &&
          (err.name === 'ConfigError' || err.name === 'RegistrationRejectedError')
        ) {
          throw new CliError(err.message, 2);
        }
        throw err;
      }
    });
}
