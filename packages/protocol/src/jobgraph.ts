/**
 * The JobGraph: the optimized dataflow graph. Vertices are operator chains,
 * edges are data exchanges with a partitioning. It is what the JobManager
 * persists and schedules and what the dashboard draws. Plain data, validated
 * with zod wherever it crosses a process boundary.
 */
import { z } from 'zod';

/** Partitioning of a JobGraph edge. */
export const PartitioningSchema = z.enum(['FORWARD', 'REBALANCE', 'HASH', 'BROADCAST', 'RESCALE']);
/** Partitioning of a JobGraph edge. */
export type Partitioning = z.infer<typeof PartitioningSchema>;

/** One operator inside a chain. */
export const ChainedOperatorSchema = z.object({
  /** StreamNode id. */
  nodeId: z.number().int().positive(),
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
});
/** One operator inside a chain. */
export type ChainedOperator = z.infer<typeof ChainedOperatorSchema>;

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
});
/** A JobVertex: a chain of operators that runs fused in one subtask. */
export type JobVertex = z.infer<typeof JobVertexSchema>;

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
});
/** A JobEdge: an exchange between two vertices. */
export type JobEdge = z.infer<typeof JobEdgeSchema>;

/** The whole optimized graph of a job. */
export const JobGraphSchema = z.object({
  jobName: z.string(),
  runtimeMode: z.enum(['STREAMING', 'BATCH']),
  parallelism: z.number().int().positive(),
  maxParallelism: z.number().int().positive(),
  autoWatermarkIntervalMs: z.number().int().nonnegative(),
  bufferTimeoutMs: z.number().int().nonnegative(),
  /** sha256 over the canonical JSON of the StreamGraph: equal bundles and arguments give equal hashes. */
  planHash: z.string(),
  /** Vertices in topological order. */
  vertices: z.array(JobVertexSchema),
  edges: z.array(JobEdgeSchema),
});
/** The whole optimized graph of a job. */
export type JobGraph = z.infer<typeof JobGraphSchema>;
