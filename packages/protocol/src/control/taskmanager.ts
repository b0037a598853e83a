import { z } from 'zod';
import { StoredTextSchema } from './text.js';

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

/** Selects one TaskManager by id. */
export const TaskManagerByIdInputSchema = z.object({ id: TaskManagerIdSchema });
/** @see {@link TaskManagerByIdInputSchema} */
export type TaskManagerByIdInput = z.infer<typeof TaskManagerByIdInputSchema>;
