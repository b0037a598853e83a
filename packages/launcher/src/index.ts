/**
 * `@freshet/launcher`: starts JobManager, TaskManager and other Node
 * processes, each in its own process group, reads their logs, waits for
 * them to be ready, and stops them (SIGTERM, then SIGKILL of the group).
 * Used by the integration tests (`@freshet/jobmanager/testing`), the
 * browser tests' global setup, `freshet cluster start` and `freshet bench`.
 *
 * It depends on no Freshet package (callers pass the daemons' bin paths),
 * so any package — the JobManager's test tooling included — can use it
 * without a dependency cycle.
 *
 * @packageDocumentation
 */
export {
  DEFAULT_GRACE_MS,
  DEFAULT_READY_TIMEOUT_MS,
  describeExit,
  LaunchError,
  ManagedProcess,
  type EnvOverrides,
  type ExitStatus,
  type LogOptions,
  type ProcessRole,
  type ProcessSpec,
} from './managed-process.js';
export {
  ADMIN_TOKEN_FILE,
  JOBMANAGER_READY_LOG,
  JOIN_SECRET_FILE,
  JobManagerProcess,
  TASKMANAGER_DATA_PORT_LOG,
  TASKMANAGER_REGISTERED_LOG,
  TaskManagerProcess,
  withFlag,
} from './freshet-processes.js';
export {
  ProcessGroup,
  type DaemonBins,
  type JobManagerOptions,
  type LaunchOptions,
  type ProcessGroupOptions,
  type TaskManagerOptions,
} from './process-group.js';
export { freePort } from './ports.js';
export { formatForTerminal, readLine, type LogLine, type LogMatch, type ReadLine } from './logs.js';
