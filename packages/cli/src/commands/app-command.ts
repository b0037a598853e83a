/**
 * Registers a subcommand that runs one of Freshet's processes (JobManager,
 * TaskManager) in the foreground. The process's flags are its own, passed
 * through unchanged; its help is generated from the same setting
 * declarations (`@freshet/settings`) the process parses.
 */
import type { Command } from 'commander';
import { formatHelp, type ProcessSettings } from '@freshet/settings';
import { CliError } from '../output.js';

/** An error class whose instances are the user's doing. */
type UserErrorClass = abstract new (...args: never[]) => Error;

/** What a foreground app subcommand needs. */
export interface AppCommand {
  /** Subcommand name, e.g. `jobmanager`. */
  name: string;
  /** The process as users call it, e.g. `JobManager`. */
  title: string;
  description: string;
  /** The process's setting declarations: its help is generated from them. */
  settings: ProcessSettings;
  /** The app's entry point, given the flags. */
  main: (argv: string[]) => Promise<unknown>;
  /** Errors that are the user's doing: reported in one line with exit code 2. */
  userErrors: readonly UserErrorClass[];
}

/** Registers `freshet <name> [flags...]`. */
export function registerAppCommand(program: Command, app: AppCommand): void {
  const usage = formatHelp(app.settings, `freshet ${app.name}`);
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
        // instanceof is brand-based for Freshet errors, so it holds across realms too.
        if (app.userErrors.some((cls) => err instanceof cls)) throw new CliError((err as Error).message, 2);
        throw err;
      }
    });
}
