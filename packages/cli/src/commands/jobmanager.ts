/**
 * `freshet jobmanager [flags]`: runs a JobManager in the foreground until
 * SIGINT or SIGTERM. Flags are the JobManager's own (`freshet jobmanager
 * --help`).
 */
import type { Command } from 'commander';
import { main } from '@freshet/jobmanager';
import { ConfigError, JOBMANAGER_SETTINGS } from '@freshet/settings';
import { registerAppCommand } from './app-command.js';

/** Registers `freshet jobmanager`. */
export function register(program: Command): void {
  registerAppCommand(program, {
    name: 'jobmanager',
    title: 'JobManager',
    description: 'Start a JobManager in the foreground (tRPC API, TaskManager registry, health monitor)',
    settings: JOBMANAGER_SETTINGS,
    main,
    userErrors: [ConfigError],
  });
}
