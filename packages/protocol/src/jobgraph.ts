/**
 * zod schemas of the JobGraph, validated wherever it crosses a process
 * boundary. The types are declared once, in `@freshet/graph`; each schema
 * below is checked at compile time to infer exactly that type, so the two
 * cannot drift.
 */
import { z } from 'zod';
import {
  CHECKPOINTING_MODES,
  PARTITIONINGS,
  RUNTIME_MODES,
  STATE_BACKENDS,
  type ChainedOperator,
  type CheckpointingMode,
  type CheckpointingSpec,
  type RestartStrategySpec,
  type JobEdge,
  type JobGraph,
  type JobVertex,
  type Partitioning,
  type RuntimeMode,
  type StateBackendKind,
} from '@freshet/graph';
import type { Assert, Same } from './same-type.js';

export type {
  ChainedOperator,
  CheckpointingMode,
  CheckpointingSpec,
  JobEdge,
  JobGraph,
  JobVertex,
  Partitioning,
  RestartStrategySpec,
  RuntimeMode,
  StateBackendKind,
} from '@freshet/graph';

/** Partitioning of a JobGraph edge. */
export const PartitioningSchema = z.enum(PARTITIONINGS);

/** STREAMING or BATCH. */
export const RuntimeModeSchema = z.enum(RUNTIME_MODES);

/** heap or disk. */
export const StateBackendKindSchema = z.enum(STATE_BACKENDS);

/** EXACTLY_ONCE or AT_LEAST_ONCE. */
export const CheckpointingModeSchema = z.enum(CHECKPOINTING_MODES);

/** A duration in milliseconds (an integer >= 0). */
const MillisSchema = z.int().nonnegative();

/** Periodic checkpoints of a job. */
export const CheckpointingSpecSchema = z.object({
  /** Time between the triggers of two checkpoints. */
  intervalMs: z.int().positive(),
  mode: CheckpointingModeSchema,
  /** A checkpoint not complete after this long is aborted. */
  timeoutMs: z.int().positive(),
  /** Least time between the end of one checkpoint and the trigger of the next. */
  minPauseBetweenCheckpointsMs: MillisSchema,
  /** Consecutive failed checkpoints tolerated; -1 = any number. */
  tolerableCheckpointFailureNumber: z.int().min(-1),
  /** Completed checkpoints kept. */
  maxRetainedCheckpoints: z.int().positive(),
});

/** How a job restarts after a failure. */
export const RestartStrategySpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('fixed-delay'), attempts: z.int().nonnegative(), delayMs: MillisSchema }),
  z.object({
    type: z.literal('exponential-delay'),
    initialBackoffMs: MillisSchema,
    maxBackoffMs: MillisSchema,
    backoffMultiplier: z.number().min(1),
    resetBackoffThresholdMs: z.int().positive(),
    jitterFactor: z.number().min(0).max(1),
  }),
  z.object({
    type: z.literal('failure-rate'),
    maxFailuresPerInterval: z.int().nonnegative(),
    intervalMs: z.int().positive(),
    delayMs: MillisSchema,
  }),
]);

/** One operator inside a chain. */
export const ChainedOperatorSchema = z.object({
  /** StreamNode id. */
  nodeId: z.number().int().positive(),
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  /** The collect id of a `collect` sink. */
  collectId: z.string().optional(),
});

/** A JobVertex: a chain of operators that runs fused in one subtask. */
export const JobVertexSchema = z.object({
  /** Stable id, `v<headNodeId>`. */
  id: z.string(),
  /** Operator names joined with ' -> '. */
  name: z.string(),
  parallelism: z.number().int().positive(),
  maxParallelism: z.number().int().positive(),
  slotSharingGroup: z.string(),
  /** Operators in chain order; the first is the chain head. */
  operators: z.array(ChainedOperatorSchema).min(1),
  /** True when the head is a source. */
  isSource: z.boolean(),
  /** True when every source feeding this vertex is bounded. */
  bounded: z.boolean(),
  /** False when the head is a source that cannot replay its records after a restore (a socket). */
  replayable: z.boolean(),
});

/** A JobEdge: an exchange between two vertices. */
export const JobEdgeSchema = z.object({
  /** Stable id, `e<sourceNode>-<targetNode>[-<sideOutput>]`. */
  id: z.string(),
  source: z.string(),
  target: z.string(),
  /** StreamNode that emits into this edge (the last operator of the chain, or an inner one for side outputs). */
  sourceNodeId: z.number().int().positive(),
  /** StreamNode that reads from this edge (the head of the target vertex). */
  targetNodeId: z.number().int().positive(),
  /** Input of the target operator (0, or 1 for the second input of a two-input operator). */
  inputIndex: z.union([z.literal(0), z.literal(1)]),
  partitioning: PartitioningSchema,
  sideOutput: z.string().optional(),
  /** CUSTOM edges: index of the edge's functions in the target node's `fns.partitioners`. */
  customPartitioner: z.number().int().nonnegative().optional(),
});

/** The whole optimized graph of a job. */
export const JobGraphSchema = z.object({
  jobName: z.string(),
  runtimeMode: RuntimeModeSchema,
  parallelism: z.number().int().positive(),
  maxParallelism: z.number().int().positive(),
  autoWatermarkIntervalMs: z.number().int().nonnegative(),
  bufferTimeoutMs: z.number().int().nonnegative(),
  /** Periodic checkpoints; absent when checkpointing is disabled. */
  checkpointing: CheckpointingSpecSchema.optional(),
  /** The restart strategy the program (or an override) set; absent = the default. */
  restartStrategy: RestartStrategySpecSchema.optional(),
  /** Where keyed state lives; absent = `'heap'`. */
  stateBackend: StateBackendKindSchema.optional(),
  /** sha256 over the canonical JSON of the StreamGraph: equal bundles and arguments give equal hashes. */
  planHash: z.string(),
  /** Vertices in topological order. */
  vertices: z.array(JobVertexSchema),
  edges: z.array(JobEdgeSchema),
});

// Each schema infers exactly the type @freshet/graph declares (a compile error here means they drifted).
type _SchemasMatchGraphTypes = [
  Assert<Same<z.infer<typeof PartitioningSchema>, Partitioning>>,
  Assert<Same<z.infer<typeof RuntimeModeSchema>, RuntimeMode>>,
  Assert<Same<z.infer<typeof StateBackendKindSchema>, StateBackendKind>>,
  Assert<Same<z.infer<typeof CheckpointingModeSchema>, CheckpointingMode>>,
  Assert<Same<z.infer<typeof CheckpointingSpecSchema>, CheckpointingSpec>>,
  Assert<Same<z.infer<typeof RestartStrategySpecSchema>, RestartStrategySpec>>,
  Assert<Same<z.infer<typeof ChainedOperatorSchema>, ChainedOperator>>,
  Assert<Same<z.infer<typeof JobVertexSchema>, JobVertex>>,
  Assert<Same<z.infer<typeof JobEdgeSchema>, JobEdge>>,
  Assert<Same<z.infer<typeof JobGraphSchema>, JobGraph>>,
];
