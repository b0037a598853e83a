/**
 * Deployment and execution reporting between the JobManager and its
 * TaskManagers. The TaskManager only opens connections to the JobManager
 * (it may sit behind NAT): commands reach it over a tRPC subscription
 * (`taskManagers.commands`, server-sent events); it answers with mutations
 * (`executions.reportStates`, `executions.reportMetrics`, …), fetches program
 * bundles over HTTP (`GET /artifacts/<bundleSha256>.mjs`) and uploads and
 * fetches checkpoint state (`control/checkpoints.ts`), authenticated by its
 * session token as `Authorization: Bearer <taskManagerId>.<token>`. The
 * procedures are declared once, in `control-plane.ts`.
 */
import { z } from 'zod';
import { JobGraphSchema } from '../jobgraph.js';
import { ProgramInvocationSchema } from '../program.js';
import { RelayedTextSchema, StoredTextSchema } from './text.js';
import { TaskManagerIdSchema, TaskManagerSessionSchema } from './taskmanager.js';
import { TapEdgeCommandSchema, UntapEdgeCommandSchema } from './edge-taps.js';
import { ProfileCpuCommandSchema } from './profiles.js';

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

/** One slot of a job's deployment: which TaskManager runs it, in which of its slots, and where its data port is. */
export const DeployedSlotSchema = z.object({
  taskManagerId: TaskManagerIdSchema,
  host: z.string().min(1),
  dataPort: z.int().min(1).max(65535),
  /** The TaskManager's own slot (0-based) the JobManager allocated; TaskManagers report it back in heartbeats. */
  slotIndex: z.int().nonnegative(),
});
/** @see {@link DeployedSlotSchema} */
export type DeployedSlot = z.infer<typeof DeployedSlotSchema>;

/** One subtask of a job: subtask `subtask` of JobVertex `vertexId` (Flink's ExecutionVertexID). */
export const SubtaskRefSchema = z.object({
  vertexId: StoredTextSchema.min(1).max(200),
  subtask: z.int().nonnegative(),
});
/** @see {@link SubtaskRefSchema} */
export type SubtaskRef = z.infer<typeof SubtaskRefSchema>;

/** One subtask in one attempt: what checkpoint commands name, so a TaskManager can fence stale attempts. */
export const SubtaskAttemptSchema = SubtaskRefSchema.extend({ attempt: z.int().nonnegative() });
/** @see {@link SubtaskAttemptSchema} */
export type SubtaskAttempt = z.infer<typeof SubtaskAttemptSchema>;

/**
 * The checkpoint a deployment restores from. Each TaskManager fetches the
 * state of each of its subtasks listed here with
 * `GET /checkpoints/<jobId>/<attempt>/<checkpointId>/<vertexId>/<subtask>`
 * (see `control/checkpoints.ts`); a subtask not listed starts fresh.
 */
export const RestoreSchema = z.object({
  checkpointId: z.int().positive(),
  /**
   * By `vertexId#subtask`: whether the subtask's state is its final state (it
   * then commits and finishes at once), and in how many parts it comes — a
   * restore from a savepoint at another parallelism hands a subtask every
   * former subtask whose key groups overlap its own; fetch part `i` with
   * `?part=i` (absent: one part, no query).
   */
  subtasks: z.record(
    z.string().max(220),
    z.object({ final: z.boolean(), parts: z.int().min(1).max(4096).optional() }),
  ),
});
/** @see {@link RestoreSchema} */
export type Restore = z.infer<typeof RestoreSchema>;

/**
 * Where the blocking result partitions of one producer subtask are (a staged
 * BATCH job): the TaskManager that ran it, which serves them over its data
 * plane to the later stage that reads them.
 */
export const PartitionLocationSchema = z.object({
  /** `vertexId#subtask` of the producer. */
  producer: z.string().min(1).max(220),
  taskManagerId: TaskManagerIdSchema,
  host: z.string().min(1),
  dataPort: z.int().min(1).max(65535),
});
/** @see {@link PartitionLocationSchema} */
export type PartitionLocation = z.infer<typeof PartitionLocationSchema>;

/**
 * Everything a TaskManager needs to run its part of one pipelined region of
 * a job in one attempt. Slots are numbered globally for the job (`slots[i]`
 * is global slot `i`); subtask `s` of every vertex runs in global slot
 * `s % slots.length` (slot sharing, the same rule as the local
 * mini-cluster). A TaskManager runs the listed subtasks whose global slot is
 * its own and reaches the others over TCP. A region exchanges data with no
 * subtask outside it, so each region of a job is deployed, cancelled and
 * restarted on its own (pipelined-region failover).
 */
export const DeploymentSchema = z.object({
  jobId: z.string().min(1),
  /**
   * The attempt these subtasks are deployed with: a job-wide counter bumped
   * by every restart (of the whole job or of a region). Every report, data
   * connection and checkpoint upload of theirs names it.
   */
  attempt: z.int().nonnegative(),
  /** Index of the pipelined region (as `computePipelinedRegions` numbers them): scopes the data-plane connections. */
  region: z.int().nonnegative(),
  /** The region's subtasks. */
  subtasks: z.array(SubtaskRefSchema).min(1),
  /** The compiled program: fetch `GET /artifacts/<bundleSha256>.mjs` and verify its sha256. */
  bundleSha256: Sha256Schema,
  /** Arguments and overrides the JobManager planned with; the TaskManager re-plans with the same and checks the plan hash. */
  program: ProgramInvocationSchema,
  jobGraph: JobGraphSchema,
  slots: z.array(DeployedSlotSchema).min(1),
  /**
   * The job attempt's data-plane secret: the JobManager gives it only to the
   * TaskManagers it deploys the attempt to, and their data connections prove
   * they hold it (an HMAC in the handshake). Keep it private.
   */
  dataPlaneSecret: z.string().min(32).max(128),
  /** The checkpoint to restore from; absent = a fresh start. */
  restore: RestoreSchema.optional(),
  /**
   * The JobManager coordinates the job's checkpoints: a subtask whose input
   * ended uploads its final state and waits for `finishTasks`. Absent: it
   * commits and finishes at once (a JobManager without a coordinator).
   */
  finalCheckpoints: z.boolean().optional(),
  /**
   * The job runs in stages (BATCH with blocking exchanges): its subtasks
   * write the channels of blocking edges completely into result partitions
   * on their TaskManager, and a region reading them is deployed once they
   * are complete. Absent: every exchange is pipelined.
   */
  blockingExchanges: z.boolean().optional(),
  /**
   * Where the partitions the region reads are. A TaskManager listed here
   * gets the deployment too (it serves them) even when it runs none of the
   * region's subtasks.
   */
  partitions: z.array(PartitionLocationSchema).max(100_000).optional(),
});
/** @see {@link DeploymentSchema} */
export type Deployment = z.infer<typeof DeploymentSchema>;

const JobIdSchema = StoredTextSchema.min(1).max(100);

/** What the JobManager tells a TaskManager over the `taskManagers.commands` subscription. */
export const TaskManagerCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('deploy'), deployment: DeploymentSchema }),
  /** Cancel the job's deployments of `attempt` here (only those of `regions`, when given). */
  z.object({
    type: z.literal('cancel'),
    jobId: JobIdSchema,
    attempt: z.int().nonnegative(),
    regions: z.array(z.int().nonnegative()).optional(),
  }),
  /** The job ended: drop its blocking result partitions here (memory and disk). */
  z.object({ type: z.literal('releasePartitions'), jobId: JobIdSchema }),
  /** The JobManager does not know this session (e.g. it restarted): register again. */
  z.object({ type: z.literal('reregister'), reason: z.string() }),
  /** Inject barrier `checkpointId` at these source subtasks. */
  z.object({
    type: z.literal('triggerCheckpoint'),
    jobId: JobIdSchema,
    checkpointId: z.int().positive(),
    /** Epoch ms of the trigger. */
    timestamp: z.number(),
    tasks: z.array(SubtaskAttemptSchema),
    /**
     * Stop with a savepoint: after the barrier the sources emit nothing more
     * (the job is ended once the checkpoint completed and the sinks committed).
     */
    stopSources: z.boolean().optional(),
  }),
  /**
   * Stop with `--drain`: these sources end their input now, as a bounded
   * source does (the MAX watermark fires every event-time window and timer,
   * every task delivers its final state, and the job finishes).
   */
  z.object({
    type: z.literal('drainSources'),
    jobId: JobIdSchema,
    tasks: z.array(SubtaskAttemptSchema),
  }),
  /** Checkpoint `checkpointId` completed: these subtasks commit what is pending up to it. */
  z.object({
    type: z.literal('notifyCheckpointComplete'),
    jobId: JobIdSchema,
    checkpointId: z.int().positive(),
    tasks: z.array(SubtaskAttemptSchema),
  }),
  /** Checkpoint `checkpointId` was aborted. */
  z.object({
    type: z.literal('notifyCheckpointAborted'),
    jobId: JobIdSchema,
    checkpointId: z.int().positive(),
    tasks: z.array(SubtaskAttemptSchema),
  }),
  /** Checkpoint `checkpointId` holds these subtasks' final states: they commit and finish. */
  z.object({
    type: z.literal('finishTasks'),
    jobId: JobIdSchema,
    checkpointId: z.int().positive(),
    tasks: z.array(SubtaskAttemptSchema),
  }),
  /** Edge taps (`control/edge-taps.ts`). */
  TapEdgeCommandSchema,
  UntapEdgeCommandSchema,
  /** A CPU profile of the job processes (`control/profiles.ts`). */
  ProfileCpuCommandSchema,
]);
/** @see {@link TaskManagerCommandSchema} */
export type TaskManagerCommand = z.infer<typeof TaskManagerCommandSchema>;

/**
 * A command with its number in the TaskManager's session (1, 2, 3, …). The
 * `taskManagers.commands` subscription sends the number as the SSE event id
 * (tRPC's `tracked()`); a TaskManager that reconnects passes the last one it
 * saw as `lastEventId` and gets every later command again. Handling a
 * command twice must do no harm (every command is idempotent).
 */
export interface NumberedCommand {
  id: number;
  command: TaskManagerCommand;
  /** With high availability: the fencing token of the leader that sent it (see {@link CommandFencingSchema}). */
  leaderEpoch?: number | undefined;
}

/**
 * What every command on the `taskManagers.commands` stream carries besides
 * its own fields: with high availability, `leaderEpoch`, the fencing token
 * of the JobManager leader that sent it. A TaskManager refuses a command
 * whose epoch is below the largest it has seen (a deposed leader's).
 */
export const CommandFencingSchema = z.object({ leaderEpoch: z.int().nonnegative().optional() });

/** A failure, as plain data (the user function's stack kept, source-mapped). */
export const ExecutionErrorSchema = z.object({
  name: RelayedTextSchema,
  /**
   * The Freshet error code (`USER_FUNCTION_FAILED`, `INVALID_PROGRAM`, … from
   * `@freshet/errors`), absent for other errors. Text, not an enum: a newer
   * TaskManager's code must not make the report invalid.
   */
  code: StoredTextSchema.max(64).optional(),
  message: RelayedTextSchema,
  stack: RelayedTextSchema.optional(),
  operator: RelayedTextSchema.optional(),
});
/** @see {@link ExecutionErrorSchema} */
export type ExecutionError = z.infer<typeof ExecutionErrorSchema>;

/** One subtask's state transition. */
export const SubtaskStateUpdateSchema = z.object({
  jobId: StoredTextSchema.min(1),
  attempt: z.int().nonnegative(),
  vertexId: StoredTextSchema.min(1),
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

/** A user metric (counter, gauge, meter, histogram) registered on an operator's metric group. */
export const UserMetricSampleSchema = z.discriminatedUnion('type', [
  z.object({
    scope: z.array(StoredTextSchema).max(16),
    name: StoredTextSchema,
    type: z.literal('counter'),
    value: z.number(),
  }),
  z.object({
    scope: z.array(StoredTextSchema).max(16),
    name: StoredTextSchema,
    type: z.literal('gauge'),
    value: z.number(),
  }),
  z.object({
    scope: z.array(StoredTextSchema).max(16),
    name: StoredTextSchema,
    type: z.literal('meter'),
    count: z.number(),
    rate: z.number(),
  }),
  z.object({
    scope: z.array(StoredTextSchema).max(16),
    name: StoredTextSchema,
    type: z.literal('histogram'),
    count: z.number(),
    min: z.number(),
    max: z.number(),
    mean: z.number(),
    stdDev: z.number(),
    p50: z.number(),
    p75: z.number(),
    p95: z.number(),
    p98: z.number(),
    p99: z.number(),
    p999: z.number(),
  }),
]);
/** @see {@link UserMetricSampleSchema} */
export type UserMetricSample = z.infer<typeof UserMetricSampleSchema>;

/**
 * A subtask's local part of an accumulator, as data (`@freshet/api`'s
 * AccumulatorValue). Min/max/average of nothing are ±Infinity/NaN in the
 * runtime; JSON carries them as null.
 */
export const AccumulatorValueSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sum'), value: z.number() }),
  z.object({ kind: z.literal('min'), value: z.number().nullable() }),
  z.object({ kind: z.literal('max'), value: z.number().nullable() }),
  z.object({ kind: z.literal('average'), sum: z.number(), count: z.number() }),
  z.object({ kind: z.literal('histogram'), counts: z.record(z.string(), z.number()) }),
  z.object({ kind: z.literal('list'), values: z.array(z.unknown()).max(100_000) }),
  z.object({ kind: z.literal('custom'), value: z.unknown() }),
]);
/** @see {@link AccumulatorValueSchema} */
export type AccumulatorValueSample = z.infer<typeof AccumulatorValueSchema>;

/** One subtask's metrics sample (sent at least once a second while it runs). */
export const SubtaskMetricsSampleSchema = z.object({
  jobId: StoredTextSchema.min(1),
  attempt: z.int().nonnegative(),
  vertexId: StoredTextSchema.min(1),
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
  /** User metrics of the subtask's operators (absent when there are none). */
  user: z.array(UserMetricSampleSchema).max(10_000).optional(),
  /** Local values of the subtask's accumulators, by name (absent when there are none). */
  accumulators: z.record(StoredTextSchema, AccumulatorValueSchema).optional(),
  /** An aligned source (`withWatermarkAlignment`): how often and how long it paused for its group. */
  watermarkAlignment: z
    .object({ pauses: z.int().nonnegative(), pausedMs: z.number().nonnegative() })
    .optional(),
  /**
   * Connector metrics of the subtask's sources and sinks (e.g. `recordsRead`,
   * `bytesWritten`, Kafka consumer lag per partition as `lag.<topic>-<partition>`);
   * absent when the subtask runs no connector.
   */
  connector: z.record(StoredTextSchema.min(1).max(500), z.number()).optional(),
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
  jobId: StoredTextSchema.min(1),
  attempt: z.int().nonnegative(),
  collectId: StoredTextSchema.min(1),
  /** JSON-serializable records; at most 10,000 per call. */
  values: z.array(z.unknown()).max(10_000),
});
/** @see {@link ReportCollectedInputSchema} */
export type ReportCollectedInput = z.infer<typeof ReportCollectedInputSchema>;

/** Output of `executions.reportStates`: updates applied, and updates ignored (unknown, foreign or of a stale attempt). */
export const ReportStatesOutputSchema = z.object({
  accepted: z.int().nonnegative(),
  ignored: z.int().nonnegative(),
});
/** @see {@link ReportStatesOutputSchema} */
export type ReportStatesOutput = z.infer<typeof ReportStatesOutputSchema>;

/** Output of `executions.reportMetrics`. */
export const ReportMetricsOutputSchema = z.object({ accepted: z.int().nonnegative() });
/** @see {@link ReportMetricsOutputSchema} */
export type ReportMetricsOutput = z.infer<typeof ReportMetricsOutputSchema>;

/** Output of `executions.reportCollected`. */
export const ReportCollectedOutputSchema = z.object({
  accepted: z.int().nonnegative(),
  truncated: z.boolean(),
});
/** @see {@link ReportCollectedOutputSchema} */
export type ReportCollectedOutput = z.infer<typeof ReportCollectedOutputSchema>;

/**
 * Input of `executions.reportLostPeer`: a data connection of a deployment to
 * another TaskManager broke before that peer said CLOSE (it crashed, or the
 * network between them failed). Sent at once, so failover starts without
 * waiting for the lost TaskManager's heartbeat timeout.
 */
export const ReportLostPeerInputSchema = TaskManagerSessionSchema.extend({
  /** The TaskManager the connection went to. */
  peerId: TaskManagerIdSchema,
  jobId: JobIdSchema,
  attempt: z.int().nonnegative(),
  reason: RelayedTextSchema,
});
/** @see {@link ReportLostPeerInputSchema} */
export type ReportLostPeerInput = z.infer<typeof ReportLostPeerInputSchema>;

/** Output of `executions.reportLostPeer`: whether the JobManager declared the peer lost (false: it already was, or the report was stale). */
export const ReportLostPeerOutputSchema = z.object({ declaredLost: z.boolean() });
/** @see {@link ReportLostPeerOutputSchema} */
export type ReportLostPeerOutput = z.infer<typeof ReportLostPeerOutputSchema>;

/** Input of `executions.declineCheckpoint`: a subtask could not take a checkpoint. */
export const DeclineCheckpointInputSchema = TaskManagerSessionSchema.extend({
  jobId: JobIdSchema,
  attempt: z.int().nonnegative(),
  vertexId: StoredTextSchema.min(1).max(200),
  subtask: z.int().nonnegative(),
  checkpointId: z.int().positive(),
  reason: RelayedTextSchema,
});
/** @see {@link DeclineCheckpointInputSchema} */
export type DeclineCheckpointInput = z.infer<typeof DeclineCheckpointInputSchema>;

/** Output of `executions.declineCheckpoint`: whether the decline reached the pending checkpoint. */
export const DeclineCheckpointOutputSchema = z.object({ accepted: z.boolean() });
/** @see {@link DeclineCheckpointOutputSchema} */
export type DeclineCheckpointOutput = z.infer<typeof DeclineCheckpointOutputSchema>;

/**
 * A watermark on the wire of watermark alignment: a number, or `null` for
 * "none yet" (-Infinity) and `'max'` for "idle or ended" (+Infinity), which JSON cannot carry.
 */
export const WireWatermarkSchema = z.union([z.number(), z.null(), z.literal('max')]);

/** Input of `executions.reportWatermarks`: the watermarks of a TaskManager's aligned sources of one job. */
export const ReportWatermarksInputSchema = TaskManagerSessionSchema.extend({
  jobId: JobIdSchema,
  attempt: z.int().nonnegative(),
  reports: z
    .array(
      z.object({
        group: StoredTextSchema.min(1).max(200),
        vertexId: StoredTextSchema.min(1).max(200),
        subtask: z.int().nonnegative(),
        watermark: WireWatermarkSchema,
        maxDriftMs: z.number().positive(),
      }),
    )
    .max(10_000),
});
/** @see {@link ReportWatermarksInputSchema} */
export type ReportWatermarksInput = z.infer<typeof ReportWatermarksInputSchema>;

/** Output of `executions.reportWatermarks`: the largest watermark each reported group's sources may reach. */
export const ReportWatermarksOutputSchema = z.object({
  announcements: z.array(z.object({ group: z.string(), maxAllowedWatermark: WireWatermarkSchema })),
});
/** @see {@link ReportWatermarksOutputSchema} */
export type ReportWatermarksOutput = z.infer<typeof ReportWatermarksOutputSchema>;

/** A watermark as {@link WireWatermarkSchema} carries it. */
export type WireWatermark = z.infer<typeof WireWatermarkSchema>;

/** A watermark for the wire: -Infinity as `null`, +Infinity as `'max'`. */
export function toWireWatermark(watermark: number): WireWatermark {
  if (watermark === Number.NEGATIVE_INFINITY) return null;
  if (watermark === Number.POSITIVE_INFINITY) return 'max';
  return watermark;
}

/** A watermark from the wire (see {@link toWireWatermark}). */
export function fromWireWatermark(watermark: WireWatermark): number {
  if (watermark === null) return Number.NEGATIVE_INFINITY;
  if (watermark === 'max') return Number.POSITIVE_INFINITY;
  return watermark;
}
