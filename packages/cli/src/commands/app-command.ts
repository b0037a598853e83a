/**
 * Registers a subcommand that runs one of Freshet's processes (JobManager,
 * TaskManager) in the foreground. The process's flags are its own, passed
 * through unchanged, so they are defined once, in the app.
 */
import type { Command } from 'commander';
import { CliError } from '../output.js';

/** What a foreground app subcommand needs. */
export interface AppCommand {
  /** Subcommand name, e.g. `jobmanager`. */
  name: string;
  /** The process as users call it, e.g. `JobManager`. */
  title: string;
  description: string;
  /** The app's usage text, written for its own bin (`freshet-<name>`). */
  usage: string;
  /** The app's entry point, given the flags. */
  main: (argv: string[]) => Promise<unknown>;
  /** Error names that are the user's doing: reported in one line with exit code 2. */
  userErrors: readonly string[];
}

/** Registers `freshet <name> [flags...]`. */
export function registerAppCommand(program: Command, app: AppCommand): void {
  const usage = app.usage.replace(`freshet-${app.name}`, `freshet ${app.name}`);
  program
    .command(app.name)
    .description(app.description)
    .argument('[flags...]', `${app.title} flags, see --help`)
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
        await app.main(flags);
      } catch (err) {
        if (err instanceof Error && app.userErrors.includes(err.name)) throw new CliError(err.message, 2);
        throw err;
      }
    });
}
