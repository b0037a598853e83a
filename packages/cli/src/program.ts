import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

/**
 * Builds the `freshet` command tree. Every subcommand lives in its own module
 * under `commands/` and registers itself through {@link registerCommands}.
 */
export function buildProgram(): Command {
  const program = new Command('freshet')
    .description('Freshet: Flink-style stream and batch processing in TypeScript')
    .version('0.1.0')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerCommands(program);
  return program;
}
