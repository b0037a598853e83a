/**
 * The JobManager's configuration, read once from its flags and environment.
 * The settings themselves are declared in `@freshet/settings`
 * (`JOBMANAGER_SETTINGS`); nothing else in the JobManager reads `process.env`.
 */
import {
  formatHelp,
  JOBMANAGER_SETTINGS,
  LOG_LEVELS,
  readSettings,
  type Invocation,
  type JobManagerConfig,
} from '@freshet/settings';

export { JOBMANAGER_SETTINGS, LOG_LEVELS, type JobManagerConfig };

/** `--help` text of `freshet-jobmanager`. */
export const JOBMANAGER_USAGE = formatHelp(JOBMANAGER_SETTINGS);

/** Result of reading the command line: either a request for help or a configuration. */
export type JobManagerInvocation = Invocation<JobManagerConfig>;

/**
 * Reads the JobManager's configuration once, from flags and the environment.
 *
 * @param argv - command-line arguments after the program name
 * @param env - environment variables @default process.env
 * @param cwd - directory relative paths are resolved against @default process.cwd()
 * @throws ConfigError (from `@freshet/settings`) naming the bad setting
 */
export function loadJobManagerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): JobManagerInvocation {
  return readSettings(JOBMANAGER_SETTINGS, { argv, env, cwd });
}
