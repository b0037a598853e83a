/**
 * Deployment and execution reporting between the JobManager and its
 * TaskManagers. The TaskManager only opens connections to the JobManager
 * (it may sit behind NAT): commands reach it over a tRPC subscription
 * (`taskManagers.commands`, server-sent events); it answers with mutations
 * (`executions.reportStates`, `executions.reportMetrics`) and fetches program
 * bundles over HTTP (`GET /artifacts/<bundleSha256>.mjs`, authenticated by
 * its session token as `Authorization: Bearer <taskManagerId>.<token>`).
 */
import { z } from 'zod';
import { JobGraphSchema } from '../jobgraph.js';
import { ProgramInvocationSchema } from '../program.js';
import { TaskManagerIdSchema, TaskManagerSessionSchema } from './taskmanager.js';

/** A lowercase sha256 hex digest. */
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest');

/** Flink's subtask (execution) states. */
export const ExecutionStateSchema = z.enum([
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'INITIALIZING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
]);
/** @see {@link ExecutionStateSchema} */
export type ExecutionState = z.infer<typeof ExecutionStateSchema>;

/** States a subtask never leaves. */
export const TERMINAL_EXECUTION_STATES: readonly ExecutionState[] = ['FINISHED', 'CANCELED', 'FAILED'];

/** One slot of a job's deployment: which TaskManager runs it and where its data port is. */
export const DeployedSlotSchema = z.object({
  taskManagerId: TaskManagerIdSchema,
  host: z.string().min(1),
  dataPort: z.int().min(1).max(65535),
});
/** @see {@link DeployedSlotSchema} */
export type DeployedSlot = z.infer<typeof DeployedSlotSchema>;

/**
 * Everything a TaskManager needs to run its part of a job. Slots are
 * numbered globally for the job (`slots[i]` is global slot `i`); subtask `s`
 * of every vertex runs in global slot `s % slots.length` (slot sharing, the
 * same rule as the local mini-cluster). A TaskManager runs the global slots
 * whose `taskManagerId` is its own and reaches the others over TCP.
 */
export const DeploymentSchema = z.object({
  jobId: z.string().min(1),
  /** Attempt of the whole job (incremented on restart). */
  attempt: z.int().nonnegative(),
  /** The compiled program: fetch `GET /artifacts/<bundleSha256>.mjs` and verify its sha256. */
  bundleSha256: Sha256Schema,
  /** Arguments and overrides the JobManager planned with; the TaskManager re-plans with the same and checks the plan hash. */
  program: ProgramInvocationSchema,
  jobGraph: JobGraphSchema,
  slots: z.array(DeployedSlotSchema).min(1),
});
/** @see {@link DeploymentSchema} */
export type Deployment = z.infer<typeof DeploymentSchema>;

/** What the JobManager tells a TaskManager over the `taskManagers.commands` subscription. */
export const TaskManagerCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('deploy'), deployment: DeploymentSchema }),
  z.object({ type: z.literal('cancel'), jobId: z.string().min(1), attempt: z.int().nonnegative() }),
  /** The JobManager does not know this session (e.g. it restarted): register again. */
  z.object({ type: z.literal('reregister'), reason: z.string() }),
]);
/** @see {@link TaskManagerCommandSchema} */
export type TaskManagerCommand = z.infer<typeof TaskManagerCommandSchema>;

/** A failure, as plain data (the user function's stack kept, source-mapped). */
export const ExecutionErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  operator: z.string().optional(),
});
/** @see {@link ExecutionErrorSchema} */
export type ExecutionError = z.infer<typeof ExecutionErrorSchema>;

/** One subtask's state transition. */
export const SubtaskStateUpdateSchema = z.object({
  jobId: z.string().min(1),
  attempt: z.int().nonnegative(),
  vertexId: z.string().min(1),
  subtaskIndex: z.int().nonnegative(),
  state: ExecutionStateSchema,
  error: ExecutionErrorSchema.optional(),
  /** Epoch ms on the TaskManager. */
  at: z.number(),
});
/** @see {@link SubtaskStateUpdateSchema} */
export type SubtaskStateUpdate = z.infer<typeof SubtaskStateUpdateSchema>;

/** Input of `executions.reportStates`. */
export const ReportStatesInputSchema = TaskManagerSessionSchema.extend({
  updates: z.array(SubtaskStateUpdateSchema).min(1).max(10_000),
});
/** @see {@link ReportStatesInputSchema} */
export type ReportStatesInput = z.infer<typeof ReportStatesInputSchema>;

/** One subtask's metrics sample (sent at least once a second while it runs). */
export const SubtaskMetricsSampleSchema = z.object({
  jobId: z.string().min(1),
  attempt: z.int().nonnegative(),
  vertexId: z.string().min(1),
  subtaskIndex: z.int().nonnegative(),
  recordsIn: z.number().nonnegative(),
  recordsOut: z.number().nonnegative(),
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
  /** 0..1 since the previous sample. */
  busyRatio: z.number().min(0).max(1),
  /** 0..1 since the previous sample: time waiting for credit with work pending. */
  backpressureRatio: z.number().min(0).max(1),
  /** Combined input watermark in epoch ms; null before the first (the runtime's -Infinity). */
  inputWatermark: z.number().nullable(),
  /** Epoch ms on the TaskManager. */
  at: z.number(),
});
/** @see {@link SubtaskMetricsSampleSchema} */
export type SubtaskMetricsSample = z.infer<typeof SubtaskMetricsSampleSchema>;

/** Input of `executions.reportMetrics`. */
export const ReportMetricsInputSchema = TaskManagerSessionSchema.extend({
  samples: z.array(SubtaskMetricsSampleSchema).max(10_000),
});
/** @see {@link ReportMetricsInputSchema} */
export type ReportMetricsInput = z.infer<typeof ReportMetricsInputSchema>;

/** Records of a `collect` sink, shipped to the JobManager so `freshet run --jobmanager` can show them. */
export const ReportCollectedInputSchema = TaskManagerSessionSchema.extend({
  jobId: z.string().min(1),
  attempt: z.int().nonnegative(),
  collectId: z.string().min(1),
  /** JSON-serializable records; at most 10,000 per call. */
  values: z.array(z.unknown()).max(10_000),
});
/** @see {@link ReportCollectedInputSchema} */
export type ReportCollectedInput = z.infer<typeof ReportCollectedInputSchema>;
