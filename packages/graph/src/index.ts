/**
 * `@freshet/graph`: the plan format shared by the API, the planner, the
 * runtime and the JobManager — the StreamGraph a program builds, the JobGraph
 * the optimizer makes of it — and the optimizer itself. Plain types and pure
 * functions, no dependencies, no Node built-ins.
 */
export {
  PARTITIONINGS,
  RUNTIME_MODES,
  STATE_BACKENDS,
  streamGraphToJson,
  type AsyncRetrySpec,
  type AsyncSpec,
  type ChainingStrategy,
  type CustomPartitionerFns,
  type JobConfig,
  type NodeFunctions,
  type NodeKind,
  type NodeSpec,
  type Partitioning,
  type RuntimeMode,
  type SinkSpec,
  type StateBackendKind,
  type SourceSpec,
  type StreamEdge,
  type StreamGraph,
  type StreamGraphJson,
  type StreamNode,
  type TimeDomain,
  type WatermarkAlignmentSpec,
  type WatermarkSpec,
  type WindowAssignerSpec,
} from './stream-graph.js';
export type { ChainedOperator, JobEdge, JobGraph, JobVertex } from './job-graph.js';
export { optimize, OptimizerError } from './optimize.js';
export {
  CHECKPOINTING_DEFAULTS,
  CHECKPOINTING_MODES,
  EXPONENTIAL_DELAY_DEFAULTS,
  RESTART_STRATEGY_TYPES,
  describeRestartStrategy,
  effectiveRestartStrategy,
  isReplayableSource,
  type CheckpointingMode,
  type CheckpointingSpec,
  type RestartStrategySpec,
} from './checkpointing.js';
export {
  overrideCheckpointing,
  planOverridesOf,
  type PlanOverrides,
  type ProgramInvocation,
} from './overrides.js';
export {
  parseRestartStrategy,
  RESTART_STRATEGY_SYNTAX,
  RestartStrategySyntaxError,
} from './restart-strategy-syntax.js';
