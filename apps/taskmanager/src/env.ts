/**
 * The TaskManager's configuration, read once from its flags and environment.
 * The settings themselves are declared in `@freshet/settings`
 * (`TASKMANAGER_SETTINGS`); nothing else in the TaskManager reads `process.env`.
 */
import {
  formatHelp,
  LOG_LEVELS,
  readSettings,
  TASKMANAGER_SETTINGS,
  type Invocation,
  type TaskManagerConfig,
} from '@freshet/settings';

export { LOG_LEVELS, TASKMANAGER_SETTINGS, type TaskManagerConfig };

/** `--help` text of `freshet-taskmanager`. */
export const TASKMANAGER_USAGE = formatHelp(TASKMANAGER_SETTINGS);

/** Result of reading the command line: either a request for help or a configuration. */
export type TaskManagerInvocation = Invocation<TaskManagerConfig>;

/**
 * Reads the TaskManager's configuration once, from flags and the environment.
 *
 * @param argv - command-line arguments after the program name
 * @param env - environment variables @default process.env
 * @param cwd - directory relative paths are resolved against @default process.cwd()
 * @throws ConfigError (from `@freshet/settings`) naming the bad setting
 */
export function loadTaskManagerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): TaskManagerInvocation {
  return readSettings(TASKMANAGER_SETTINGS, { argv, env, cwd });
}
