/**
 * `@freshet/runtime`: runs Freshet jobs — operators, state, windows, the
 * network stack, the task executor and the local mini-cluster. This entry
 * exports what hosts need: loading a program's plan (planner, TaskManager),
 * the local mini-cluster (CLI, examples), a TaskManager's part of a job and
 * its TCP data plane (TaskManager), and how tasks report failures and
 * metrics. Operator test tooling is on `@freshet/runtime/testing`.
 */
export {
  API_SHIM_SOURCE,
  CONNECTORS_SHIM_SOURCE,
  computePlanHash,
  loadStreamGraph,
  PlanMismatchError,
  type ProgramSpec,
} from './program/index.js';
export {
  runLocalJob,
  type LocalCheckpointStats,
  type LocalJobMetrics,
  type LocalJobOptions,
  type LocalJobResult,
  type LocalRestart,
} from './minicluster/mini-cluster.js';
export {
  ClusterJob,
  type ClusterJobListener,
  type ClusterJobOptions,
  type ClusterJobStatus,
  type ClusterSubtaskState,
  type ClusterSubtaskUpdate,
  type PartitionLocation,
} from './taskexecutor/cluster-job.js';
export type {
  AlignmentReportMessage,
  SlotRestore,
  SubtaskRestore,
  TapSampleMessage,
} from './taskexecutor/messages.js';
export {
  EdgeTap,
  previewRecord,
  type EdgeTapOptions,
  type TapLimits,
  type TapSample,
} from './network/edge-tap.js';
export { threadSlots, type SlotLauncher } from './taskexecutor/slot-host.js';
export { describeTaskSandbox, processSlots, type ProcessSlotsOptions } from './taskexecutor/process-host.js';
export {
  DataPlane,
  type DataPlaneAdmission,
  type DataPlaneOptions,
  type DataPlaneRefusal,
  type PeerAddress,
} from './network/tcp/data-plane.js';
export type { DataPlaneTlsOptions } from './network/tcp/data-plane-tls.js';
export { serializeError, type FailureLocation, type SerializedError } from './task/errors.js';
export {
  bwrapArgs,
  fsGrants,
  detectIsolation,
  nodePrefix,
  SANDBOX_UID,
  type Isolation,
  type IsolationMode,
  type SandboxAccess,
} from './isolation/isolation.js';
export { processTree, rssBytes, treeRssBytes } from './isolation/process-tree.js';
export type { SubtaskMetrics } from './task/metrics.js';
export type { UserMetricSample } from './metrics/user-metrics.js';
export {
  mergeAccumulators,
  type AccumulatorResult,
  type MergedAccumulators,
} from './metrics/accumulators.js';
export {
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
  type PrometheusNames,
  type PrometheusSubtaskSample,
} from './metrics/prometheus.js';
export type { TaskSettings } from './task/stream-task.js';

// Fault tolerance: the pieces the JobManager and the local mini-cluster share.
export {
  CheckpointCoordinator,
  CheckpointFailureError,
  SYSTEM_CLOCK,
  type CheckpointAck,
  type CheckpointCoordinatorHooks,
  type CheckpointCoordinatorOptions,
  type CompletedCheckpoint,
  type CoordinatorClock,
  type FinalStateAck,
  type PendingCheckpointInfo,
  type SubtaskCheckpointStats,
} from './checkpoint/coordinator.js';
export {
  CheckpointStorageError,
  type CheckpointStorage,
  type DiscardRequest,
  type StateHandle,
  type StateLocation,
} from './checkpoint/storage.js';
export { DirectoryCheckpointStorage, METADATA_FILE } from './checkpoint/directory-storage.js';
export {
  CHECKPOINT_METADATA_FORMAT,
  CHECKPOINT_METADATA_VERSION,
  CheckpointMetadataError,
  CheckpointMetadataSchema,
  checkpointMetadataOf,
  checkpointSizes,
  parseCheckpointMetadata,
  StatePieceSchema,
  serializeCheckpointMetadata,
  statesOfMetadata,
  type CheckpointMetadata,
  type CompletedCheckpointStates,
  type StatePiece,
  type SubtaskState,
  type SubtaskStateMetadata,
  type VertexStateMetadata,
} from './checkpoint/metadata.js';
export {
  assertSavepointTargetFree,
  assignRestoredState,
  inspectRestorePoint,
  openRestorePoint,
  operatorUid,
  parseSavepointMetadata,
  readSubtaskState,
  subtaskStateName,
  renumberSnapshot,
  resolveInside,
  RestorePointError,
  SAVEPOINT_FORMAT,
  SAVEPOINT_METADATA_FILE,
  SAVEPOINT_VERSION,
  SavepointMetadataSchema,
  SavepointTriggerSchema,
  StateMappingError,
  writeSavepoint,
  type InspectedSubtask,
  type RestorePart,
  type RestorePoint,
  type SavepointMetadata,
  type SavepointOperator,
  type SavepointTrigger,
  type StateAssignment,
} from './checkpoint/savepoint.js';
export {
  SNAPSHOT_FORMAT_VERSION,
  SnapshotCodecError,
  decodeSubtaskSnapshot,
  encodeSubtaskSnapshot,
  pieceRefsOf,
  resolveSubtaskSnapshot,
  restoredSnapshotsOf,
} from './checkpoint/snapshot-codec.js';
export {
  createRestartStrategy,
  type RestartDecision,
  type RestartStrategy,
  type RestartStrategyOptions,
} from './executiongraph/restart-strategy.js';
export {
  computePipelinedRegions,
  computeStages,
  type PipelinedRegion,
  type PipelinedRegionOptions,
  type PipelinedRegions,
} from './executiongraph/pipelined-regions.js';
export { hasBlockingExchanges, isBlockingEdge } from './network/topology.js';
export { PartitionStore, type PartitionStoreOptions } from './network/partition/partition-store.js';
export { executionKey, executionVertices, type ExecutionVertexId } from './executiongraph/execution-id.js';
export {
  WatermarkAlignmentCoordinator,
  type AlignmentAnnouncement,
} from './executiongraph/watermark-alignment.js';
export type { AlignmentReport } from './task/source-alignment.js';
export type { OperatorSnapshot } from './operator.js';
