/**
 * `freshet taskmanager [flags]`: runs a TaskManager in the foreground until
 * SIGINT or SIGTERM (it then deregisters). Flags are the TaskManager's own
 * (`freshet taskmanager --help`).
 */
import type { Command } from 'commander';
import { ConfigError, TASKMANAGER_SETTINGS } from '@freshet/settings';
import { main, RegistrationRejectedError } from '@freshet/taskmanager';
import { registerAppCommand } from './app-command.js';

/** Registers `freshet taskmanager`. */
export function register(program: Command): void {
  registerAppCommand(program, {
    name: 'taskmanager',
    title: 'TaskManager',
    description: 'Start a TaskManager in the foreground and register it with a JobManager',
    settings: TASKMANAGER_SETTINGS,
    main,
    userErrors: [ConfigError, RegistrationRejectedError],
  });
}
