/**
 * The JobGraph: the optimized dataflow graph. Vertices are operator chains,
 * edges are data exchanges with a partitioning. It is what the JobManager
 * persists and schedules and what the dashboard draws. Plain data; where it
 * crosses a process boundary `@freshet/protocol`'s `JobGraphSchema` validates
 * it (and is checked at compile time against these types).
 *
 * Type aliases rather than interfaces: they are JSON values (the JobManager
 * stores them as Prisma `Json`), which needs the implicit index signature
 * only object type aliases have.
 */
import type { CheckpointingSpec, RestartStrategySpec } from './checkpointing.js';
import type { Partitioning, RuntimeMode, StateBackendKind } from './stream-graph.js';

/** One operator inside a chain. */
export type ChainedOperator = {
  /** StreamNode id. */
  nodeId: number;
  kind: string;
  name: string;
  uid?: string;
  /** The collect id of a `collect` sink. */
  collectId?: string;
};

/** A JobVertex: a chain of operators that runs fused in one subtask. */
export type JobVertex = {
  /** Stable id, `v<headNodeId>`. */
  id: string;
  /** Operator names joined with ' -> '. */
  name: string;
  parallelism: number;
  maxParallelism: number;
  slotSharingGroup: string;
  /** Operators in chain order; the first is the chain head. */
  operators: ChainedOperator[];
  /** True when the head is a source. */
  isSource: boolean;
  /** True when every source feeding this vertex is bounded. */
  bounded: boolean;
  /**
   * False when the head is a source that cannot read its records again
   * after a restore (a socket): the job is at-most-once for that source.
   */
  replayable: boolean;
};

/** A JobEdge: an exchange between two vertices. */
export type JobEdge = {
  /** Stable id, `e<sourceNode>-<targetNode>[-<sideOutput>]`. */
  id: string;
  source: string;
  target: string;
  /** StreamNode that emits into this edge (the last operator of the chain, or an inner one for side outputs). */
  sourceNodeId: number;
  /** StreamNode that reads from this edge (the head of the target vertex). */
  targetNodeId: number;
  /** Input of the target operator (0, or 1 for the second input of a two-input operator). */
  inputIndex: 0 | 1;
  partitioning: Partitioning;
  sideOutput?: string;
  /** CUSTOM edges: index of the edge's functions in the target node's `fns.partitioners`. */
  customPartitioner?: number;
};

/** The whole optimized graph of a job. */
export type JobGraph = {
  jobName: string;
  runtimeMode: RuntimeMode;
  parallelism: number;
  maxParallelism: number;
  autoWatermarkIntervalMs: number;
  bufferTimeoutMs: number;
  /** Periodic checkpoints; absent when checkpointing is disabled. */
  checkpointing?: CheckpointingSpec;
  /** The restart strategy the program (or an override) set; absent = the default. */
  restartStrategy?: RestartStrategySpec;
  /** Where keyed state lives; absent = `'heap'`. */
  stateBackend?: StateBackendKind;
  /** sha256 over the canonical JSON of the StreamGraph: equal bundles and arguments give equal hashes. */
  planHash: string;
  /** Vertices in topological order. */
  vertices: JobVertex[];
  edges: JobEdge[];
};
