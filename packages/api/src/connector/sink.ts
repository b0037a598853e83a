/**
 * The sink contract (Flink's Sink V2 shape): a {@link ConnectorSink} has a
 * {@link SinkWriter} in every sink subtask and, when it promises exactly
 * once, a {@link Committer} — a two-phase commit driven by checkpoints:
 *
 * 1. The writer takes records (`write`) and buffers or writes them where
 *    readers cannot see them yet (an in-progress file, memory).
 * 2. At a checkpoint barrier `prepareCommit` hands over what was written
 *    since the previous barrier as *committables* (a pending file, a batch
 *    of rows); they are part of that checkpoint's state.
 * 3. When the checkpoint completes everywhere the committer commits them,
 *    in checkpoint order (rename the file, commit a transaction).
 * 4. After a failure the job restores its latest completed checkpoint: its
 *    committables are committed again — `commit` must be idempotent (a
 *    committable may have been committed before the failure) — and the
 *    writer discards whatever it had started after that checkpoint (the
 *    records come again from the sources' restored positions).
 *
 * A sink without a committer is at-least-once (or at-most-once): what it
 * wrote before a failure stays, and the replayed records are written again.
 * `stream.sinkTo(sink)` plugs one in.
 */
import type { Millis } from '../functions.js';
import type { ConnectorMetrics } from './source.js';

/** What a sink writer gets from the runtime. */
export interface SinkWriterContext {
  /** 0-based index of this sink subtask. */
  readonly subtaskIndex: number;
  /** Number of parallel sink subtasks. */
  readonly parallelism: number;
  /** Attempt of the subtask (0 on the first run); in-progress files and transactional ids carry it. */
  readonly attempt: number;
  /** The job's name. */
  readonly jobName: string;
  /** The sink operator's name (its uid if set, else its name): a stable id for committed-checkpoint records. */
  readonly operatorId: string;
  /**
   * Identifies this run of the job across restarts: a fresh start draws a
   * new one, a restore keeps the one of the checkpoint. Records of what was
   * committed (a Postgres table, a Kafka marker) carry it, so a later run
   * from scratch never mistakes an old run's commits for its own.
   */
  readonly runId: string;
  /** The checkpoint interval, or undefined when checkpointing is off (commits then happen at the end of input). */
  readonly checkpointIntervalMs: Millis | undefined;
  /** The subtask's connector metrics. */
  readonly metrics: ConnectorMetrics;
  /** Current processing time, epoch ms. */
  now(): Millis;
  /** Calls `callback` on the task's thread at or after `time`; returns a canceller. */
  schedule(time: Millis, callback: (time: Millis) => void): () => void;
  /** Fails the subtask with `error` (for errors found in asynchronous work). */
  fail(error: unknown): void;
  /**
   * While true the task stops feeding records to the sink (backpressure
   * for a writer whose asynchronous sends are behind); call with false
   * when it may go on.
   */
  setBackpressured(backpressured: boolean): void;
}

/** Writes the records of one sink subtask. */
export interface SinkWriter<T, CommT, WriterState> {
  /** Connects; the task feeds records only once it resolved. */
  start?(): Promise<void> | void;
  /** Takes one record (synchronously: buffer it, send in batches). */
  write(value: T, timestamp: Millis): void;
  /** Event time advanced to `watermark`. */
  writeWatermark?(watermark: Millis): void;
  /** Writes out what is buffered (at a barrier; `endOfInput` once at the end of bounded input). */
  flush?(endOfInput: boolean): void;
  /** At a barrier, after `flush`: what was written since the previous barrier, to commit when checkpoint `checkpointId` completes. */
  prepareCommit?(checkpointId: number): CommT[];
  /** The writer's own state for the checkpoint (plain data), e.g. a part-file counter. */
  snapshotState?(checkpointId: number): WriterState | undefined;
  /** Resolves when no asynchronous write is in flight (the task waits for it before it finishes). */
  drain?(): Promise<void>;
  /** Releases files and clients. */
  close(): Promise<void> | void;
}

/** Commits what checkpoints prepared. */
export interface Committer<CommT> {
  /**
   * Commits, in checkpoint order, the committables of checkpoint
   * `checkpointId` (and of older ones that were not committed yet). Must be
   * idempotent: after a restore the committables of the restored checkpoint
   * are committed again, some perhaps for the second time. A rejection
   * fails the subtask; the job restarts from its latest checkpoint and
   * commits again.
   */
  commit(checkpointId: number, committables: readonly CommT[]): Promise<void> | void;
  /** Releases clients. */
  close?(): Promise<void> | void;
}

/**
 * A sink of records of type `T` for `stream.sinkTo`. Like sources, sink
 * objects are re-created in every worker by re-running the plan: creating
 * one must not connect to anything.
 */
export interface ConnectorSink<T, CommT = unknown, WriterState = unknown> {
  /** Phantom field carrying the record type; never set. */
  readonly __type?: (value: T) => void;
  /** The sink as plain data (e.g. `{ connector: 'kafka', topic, delivery }`): shown by `freshet plan`. Never put secrets here. */
  readonly description: { readonly connector: string } & Readonly<Record<string, unknown>>;
  /** Default node name, e.g. `Sink: Kafka`. */
  readonly name: string;
  /** What the sink promises end to end when the job checkpoints. */
  readonly guarantee: DeliveryGuarantee;
  /** The writer of subtask `ctx.subtaskIndex`, restored from the given writer states (several after a rescale; none on a fresh start). */
  createWriter(ctx: SinkWriterContext, restored: readonly WriterState[]): SinkWriter<T, CommT, WriterState>;
  /** The committer of subtask `ctx.subtaskIndex` (sinks with two-phase commit only). */
  createCommitter?(ctx: SinkWriterContext): Committer<CommT>;
}

/** What a sink promises: Flink's `DeliveryGuarantee`. */
export type DeliveryGuarantee = 'none' | 'at-least-once' | 'exactly-once';
