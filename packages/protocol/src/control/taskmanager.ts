import { z } from 'zod';
import { RelayedTextSchema, StoredTextSchema } from './text.js';

/**
 * Liveness of a TaskManager as the JobManager sees it. `LATE` after half the
 * heartbeat timeout without a heartbeat, `LOST` after the whole timeout,
 * `DEREGISTERED` after a clean shutdown.
 */
export const TaskManagerStatusSchema = z.enum(['OK', 'LATE', 'LOST', 'DEREGISTERED']);
/** @see {@link TaskManagerStatusSchema} */
export type TaskManagerStatus = z.infer<typeof TaskManagerStatusSchema>;

/** Every {@link TaskManagerStatus}, in display order. */
export const TASK_MANAGER_STATUSES: readonly TaskManagerStatus[] = TaskManagerStatusSchema.options;

/** A TCP port number; 0 is not allowed where a real, listening port is announced. */
const ListeningPortSchema = z.int().min(1).max(65535);

/** A TaskManager id as the JobManager hands it out. */
export const TaskManagerIdSchema = StoredTextSchema.min(1).max(128);

/** One deployment a TaskManager runs (one pipelined region of a job in one attempt) and the slots it occupies there. */
export const RunningDeploymentSchema = z.object({
  jobId: StoredTextSchema.min(1).max(100),
  attempt: z.int().nonnegative(),
  region: z.int().nonnegative(),
  /** The TaskManager's own slots the deployment's workers occupy. */
  slotIndexes: z.array(z.int().nonnegative()).max(1024),
});
/** @see {@link RunningDeploymentSchema} */
export type RunningDeployment = z.infer<typeof RunningDeploymentSchema>;

/** What a TaskManager announces when it joins the cluster. */
export const RegisterTaskManagerInputSchema = z.object({
  /** Host name or address other TaskManagers reach its data port on. */
  host: StoredTextSchema.min(1).max(255),
  /** The TCP port of its data plane server (already listening). */
  dataPort: ListeningPortSchema,
  /** Address of its control endpoint; defaults to `host:dataPort` until TaskManagers have one of their own. */
  controlAddress: StoredTextSchema.min(1).max(512).optional(),
  /** Number of task slots (worker threads) it offers. */
  slots: z.int().min(1).max(1024),
  /** Its software version, for the dashboard. */
  version: StoredTextSchema.max(64).optional(),
  /** Its process id on its host, for operators. */
  pid: z.int().nonnegative().optional(),
  /**
   * Resource id the TaskManager chose for itself, stable across reconnects (as
   * in Flink). Re-registering under the same id, e.g. after a JobManager
   * restart, revives its row. Absent: the JobManager picks one.
   */
  resourceId: TaskManagerIdSchema.optional(),
  /**
   * The cluster's join secret (`--join-secret-file`): without the right one
   * the registration is refused (UNAUTHORIZED) and nothing is assigned.
   */
  joinSecret: z.string().max(1024).optional(),
  /**
   * The token of the session it held so far, when it registers again under
   * its `resourceId` while the JobManager may still hold that session: the
   * proof that it is the same TaskManager. A registration naming the
   * resource id of a live session without it is refused (CONFLICT).
   */
  sessionToken: z.string().max(256).optional(),
  /**
   * What it still runs from an earlier session (after a JobManager restart,
   * or after it was declared lost): the JobManager cancels every deployment
   * that is not current and counts their slots as used until a heartbeat
   * reports them free.
   */
  running: z.array(RunningDeploymentSchema).max(10_000).optional(),
});
/** @see {@link RegisterTaskManagerInputSchema} */
export type RegisterTaskManagerInput = z.infer<typeof RegisterTaskManagerInputSchema>;

/** The JobManager's answer to a registration. */
export const RegisterTaskManagerOutputSchema = z.object({
  /** The id to use in every later control message. */
  taskManagerId: TaskManagerIdSchema,
  /** Session secret proving later heartbeats come from this TaskManager. Keep it private. */
  token: z.string().min(16),
  /** How often to send heartbeats. */
  heartbeatIntervalMs: z.int().positive(),
  /**
   * The JobManager's heartbeat timeout: a TaskManager that has had no
   * successful heartbeat for this long is presumed lost (its work is being
   * redone elsewhere) and cancels its tasks by itself.
   */
  heartbeatTimeoutMs: z.int().positive(),
  /**
   * With high availability: the fencing token of the leader that made the
   * session (its lease's epoch). A TaskManager that has seen a larger one
   * refuses this session and its commands: they come from a deposed leader.
   */
  leaderEpoch: z.int().nonnegative().optional(),
});
/** @see {@link RegisterTaskManagerOutputSchema} */
export type RegisterTaskManagerOutput = z.infer<typeof RegisterTaskManagerOutputSchema>;

/** Resource usage a TaskManager reports with every heartbeat. */
export const TaskManagerHealthSchema = z.object({
  /** CPU time used since the previous heartbeat, as a fraction of one core (1 = one core busy). */
  cpu: z.number().nonnegative(),
  /** V8 heap in use, bytes. */
  heapUsed: z.number().nonnegative(),
  /** Resident set size, bytes. */
  rss: z.number().nonnegative(),
  /** Event-loop delay (99th percentile since the previous heartbeat), milliseconds. */
  eventLoopDelayMs: z.number().nonnegative(),
  /** Slots currently running subtasks. */
  slotsUsed: z.int().nonnegative(),
  /** Seconds since the TaskManager process started. */
  uptimeSec: z.number().nonnegative(),
});
/** @see {@link TaskManagerHealthSchema} */
export type TaskManagerHealth = z.infer<typeof TaskManagerHealthSchema>;

/** Session credentials of a registered TaskManager. */
export const TaskManagerSessionSchema = z.object({
  taskManagerId: TaskManagerIdSchema,
  token: z.string().min(1).max(256),
});
/** @see {@link TaskManagerSessionSchema} */
export type TaskManagerSession = z.infer<typeof TaskManagerSessionSchema>;

/** A periodic liveness message from a TaskManager. */
export const HeartbeatInputSchema = TaskManagerSessionSchema.extend({
  health: TaskManagerHealthSchema,
  /** What it runs now (the JobManager keeps its slot accounting in agreement with it). */
  running: z.array(RunningDeploymentSchema).max(10_000).optional(),
  /** The number of the newest command it handled in this session; older ones need not be re-sent. */
  lastCommandId: z.int().nonnegative().optional(),
});
/** @see {@link HeartbeatInputSchema} */
export type HeartbeatInput = z.infer<typeof HeartbeatInputSchema>;

/**
 * The JobManager's answer to a heartbeat: `ok`, or `reregister` when it does not
 * know the session (it restarted, or declared the TaskManager lost); the
 * TaskManager then registers again, passing its old id.
 */
export const HeartbeatOutputSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok') }),
  z.object({ status: z.literal('reregister'), reason: z.string() }),
]);
/** @see {@link HeartbeatOutputSchema} */
export type HeartbeatOutput = z.infer<typeof HeartbeatOutputSchema>;

/** A clean goodbye from a TaskManager that is shutting down. */
export const DeregisterInputSchema = TaskManagerSessionSchema;
/** @see {@link DeregisterInputSchema} */
export type DeregisterInput = z.infer<typeof DeregisterInputSchema>;

/** The JobManager's answer to a goodbye. */
export const DeregisterOutputSchema = z.object({ status: z.literal('DEREGISTERED') });
/** @see {@link DeregisterOutputSchema} */
export type DeregisterOutput = z.infer<typeof DeregisterOutputSchema>;

/**
 * Input of `taskManagers.commands`. `lastEventId` is the number of the last
 * command the TaskManager received in this session (the tRPC client sets it
 * when it reconnects by itself); later commands are sent again.
 */
export const CommandsInputSchema = TaskManagerSessionSchema.extend({
  lastEventId: z.string().max(20).nullish(),
});
/** @see {@link CommandsInputSchema} */
export type CommandsInput = z.infer<typeof CommandsInputSchema>;

/** Selects one TaskManager by id. */
export const TaskManagerByIdInputSchema = z.object({ id: TaskManagerIdSchema });
/** @see {@link TaskManagerByIdInputSchema} */
export type TaskManagerByIdInput = z.infer<typeof TaskManagerByIdInputSchema>;

/** Where a line of a TaskManager's output came from: its process's stdout or stderr (`print()` sinks), or its log. */
export const OutputStreamSchema = z.enum(['stdout', 'stderr', 'log']);
/** @see {@link OutputStreamSchema} */
export type OutputStream = z.infer<typeof OutputStreamSchema>;

/** Characters of one output line that are shipped (longer lines are cut). */
export const MAX_OUTPUT_LINE_CHARS = 4000;
/** Lines of one `taskManagers.reportOutput` call. */
export const MAX_OUTPUT_LINES_PER_REPORT = 500;

/** One line of a TaskManager's stdout, stderr or log. */
export const OutputLineSchema = z.object({
  stream: OutputStreamSchema,
  /** Epoch ms on the TaskManager when the line was written. */
  at: z.number(),
  text: RelayedTextSchema.pipe(z.string().max(MAX_OUTPUT_LINE_CHARS)),
});
/** @see {@link OutputLineSchema} */
export type OutputLine = z.infer<typeof OutputLineSchema>;

/**
 * Input of `taskManagers.reportOutput`: the newest lines of the
 * TaskManager's stdout, stderr and log since its previous report (bounded
 * buffers: `dropped` lines were overwritten before they could be sent).
 */
export const ReportOutputInputSchema = TaskManagerSessionSchema.extend({
  lines: z.array(OutputLineSchema).max(MAX_OUTPUT_LINES_PER_REPORT),
  dropped: z.int().nonnegative(),
});
/** @see {@link ReportOutputInputSchema} */
export type ReportOutputInput = z.infer<typeof ReportOutputInputSchema>;

/** Output of `taskManagers.reportOutput`. */
export const ReportOutputOutputSchema = z.object({ accepted: z.int().nonnegative() });
/** @see {@link ReportOutputOutputSchema} */
export type ReportOutputOutput = z.infer<typeof ReportOutputOutputSchema>;
