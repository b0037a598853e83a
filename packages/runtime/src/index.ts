/**
 * `@freshet/runtime`: runs Freshet jobs — operators, state, windows, the
 * network stack, the task executor and the local mini-cluster. This entry
 * exports what hosts need: loading a program's plan (planner, TaskManager),
 * the local mini-cluster (CLI, examples), a TaskManager's part of a job and
 * its TCP data plane (TaskManager), and how tasks report failures and
 * metrics. Operator test tooling is on `@freshet/runtime/testing`.
 */
export { API_SHIM_SOURCE, computePlanHash, loadStreamGraph, type ProgramSpec } from './program/index.js';
export {
  runLocalJob,
  type LocalJobMetrics,
  type LocalJobOptions,
  type LocalJobResult,
} from './minicluster/mini-cluster.js';
export {
  ClusterJob,
  type ClusterJobListener,
  type ClusterJobOptions,
  type ClusterJobStatus,
  type ClusterSubtaskState,
  type ClusterSubtaskUpdate,
} from './taskexecutor/cluster-job.js';
export { DataPlane, type DataPlaneOptions, type PeerAddress } from './network/tcp/data-plane.js';
export { serializeError, type FailureLocation, type SerializedError } from './task/errors.js';
export type { SubtaskMetrics } from './task/metrics.js';
export type { TaskSettings } from './task/stream-task.js';
