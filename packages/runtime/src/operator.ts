/**
 * The contract between operators (`src/operators/**`) and the task that runs
 * them (`src/task/**`). A chain is fused: an operator's {@link Output} is the
 * next operator's input, called directly, one record at a time inside the
 * loop over a batch — no per-record Promise, message or allocation beyond the
 * records themselves. The last operator of a chain writes into the task's
 * record writer, which buffers per output channel and ships batches.
 *
 * Everything here runs on one thread; the task serializes calls (records,
 * watermarks, timers, barriers) so operators need no locking.
 */
import type { StreamNode, JobConfig } from '@freshet/graph';
import type { SubtaskMetricRegistry } from './metrics/user-metrics.js';
import type { SnapshotGuard } from './state/snapshot-guard.js';

/** Timestamp value of a record that has none. */
export const NO_TIMESTAMP = Number.NEGATIVE_INFINITY;
/** The watermark before any was seen. */
export const MIN_WATERMARK = Number.NEGATIVE_INFINITY;
/** The watermark that ends event time (end of a bounded input). */
export const MAX_WATERMARK = Number.POSITIVE_INFINITY;

/** Where an operator emits. Implemented by the next operator in the chain or by the task's record writer. */
export interface Output {
  /** Emits a record on the main output. */
  collect(value: unknown, timestamp: number): void;
  /** Emits a record on side output `tagId`; dropped if nothing consumes that tag. */
  collectSide(tagId: string, value: unknown, timestamp: number): void;
  /** Forwards a watermark downstream (after the operator fired its timers). */
  emitWatermark(watermark: number): void;
  /**
   * Marks this output idle (no records for the idleness timeout) or active
   * again. Downstream input gates leave idle channels out of the watermark
   * minimum (Flink's WatermarkStatus).
   */
  markIdle(idle: boolean): void;
}

/** Processing-time services, provided by the task (backed by its event loop). */
export interface ProcessingTimeService {
  /** Current wall-clock time in epoch milliseconds. */
  now(): number;
  /**
   * Calls `callback(time)` on the task's thread, between batches, at or after `time`.
   * Returns a function that cancels it.
   */
  schedule(time: number, callback: (time: number) => void): () => void;
}

/** Everything an operator gets when it is opened. */
export interface OperatorContext {
  readonly node: StreamNode;
  readonly job: JobConfig;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly attempt: number;
  /** Id of the job (the JobManager's, or the local run's); `''` in tests that do not set it. */
  readonly jobId?: string;
  /** Name of the task (the chain) this operator runs in. @default the operator's name */
  readonly taskName?: string;
  /** The subtask's user metrics and accumulators (shared by the chain); operators create their own when absent. */
  readonly metrics?: SubtaskMetricRegistry;
  /**
   * Directory for the subtask's local files (the disk state backend's
   * store): a TaskManager's job directory under `<data-dir>/work/spill`,
   * writable inside the sandbox. @default os.tmpdir()
   */
  readonly localStateDir?: string;
  /** First and last key group (inclusive) this subtask owns. */
  readonly keyGroupRange: { readonly start: number; readonly end: number };
  readonly output: Output;
  readonly processingTime: ProcessingTimeService;
  /** Records a user-function failure; the task fails the job with it (stack trace kept). */
  readonly reportUserError: (error: unknown, where: string) => never;
  /**
   * Fails the task with `error` from asynchronous work (a connector's
   * background fetch or commit), where throwing would not reach the task.
   * Absent in hosts that run no asynchronous operators.
   */
  readonly failTask?: (error: unknown) => void;
  /**
   * Holds back (true) or lets through (false) the records the task feeds
   * this operator: backpressure from an operator whose asynchronous writes
   * are behind, counted like waiting for credit.
   */
  readonly setBackpressured?: (backpressured: boolean) => void;
}

/**
 * An operator's state at a checkpoint, as plain data the codec can serialize.
 * Keyed state is grouped by key group so it can be redistributed when the
 * job is restored at a different parallelism.
 */
export interface OperatorSnapshot {
  /** Keyed state per key group (key group -> opaque data). */
  keyed?: Record<number, unknown>;
  /** Non-keyed operator state (e.g. broadcast state, source offsets), per subtask. */
  operator?: unknown;
  /**
   * The operator's input watermark at the snapshot. Restored, it makes the
   * operator judge lateness as it did before the failure and ignore the
   * lower watermarks its replaying inputs send at first.
   */
  watermark?: number;
  /**
   * Set on a snapshot restored at another parallelism whose former subtask's
   * split operator state another new subtask owns. Its keyed state (of the
   * key groups this subtask owns) and its union-like operator state (broadcast
   * state, a source's splits, the highest timestamp seen) apply; state that
   * must be restored exactly once — a sink's pending commits, records not yet
   * acknowledged, async requests in flight — is the owner's and is skipped.
   */
  copy?: true;
}

/** A running operator instance. */
export interface StreamOperator {
  /** Called once before any record; restores state first if `restored` is given. */
  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void;
  /** A record on input 0 (the only input of a one-input operator). */
  processElement(value: unknown, timestamp: number): void;
  /** A record on input 1 of a two-input operator. */
  processElement2?(value: unknown, timestamp: number): void;
  /**
   * The operator's combined input watermark advanced (the task takes the minimum
   * over all channels of all inputs). The operator fires due event-time timers
   * and then calls `output.emitWatermark`.
   */
  processWatermark(watermark: number): void;
  /** All inputs ended (bounded input). Flush whatever is buffered. */
  endInput(): void;
  /**
   * Called at the end of input before {@link endInput}: an operator with
   * work in flight (async I/O) returns true and calls `done` once all of it
   * was emitted; the task waits for that before it ends the rest of the chain.
   */
  finishPending?(done: () => void): boolean;
  /**
   * Snapshot at a checkpoint barrier (synchronous part): plain data, encoded
   * by the task right after this returns, so the operator may keep mutating
   * what it returned afterwards — unless it guards the keyed state for
   * packing later ({@link guardSnapshot}). At the end of input the task takes a final
   * snapshot with the id of the next checkpoint (the first one it belongs to).
   * `full`: write all state, no references to earlier checkpoints' pieces
   * (the final state; the disk backend's snapshots are otherwise incremental).
   */
  snapshotState(checkpointId: number, full?: boolean): OperatorSnapshot;
  /**
   * The keyed state of the snapshot {@link snapshotState} just returned
   * will be packed later, while the operator goes on (an asynchronous
   * snapshot): true when the operator keeps it unchanged until `guard` is
   * released — its state parts copy a value before they change it
   * (`state/snapshot-guard.ts`). Absent or false: packed at once.
   */
  guardSnapshot?(guard: SnapshotGuard): boolean;
  /**
   * Checkpoint `checkpointId` completed everywhere: a two-phase-commit sink
   * commits what it prepared for every checkpoint up to it.
   */
  notifyCheckpointComplete?(checkpointId: number): void;
  /** Checkpoint `checkpointId` was aborted (what was prepared for it is committed with a later one). */
  notifyCheckpointAborted?(checkpointId: number): void;
  /**
   * Asynchronous work the task must wait for before it reports FINISHED
   * (a two-phase-commit sink's last commit): a promise while there is some,
   * undefined when there is none. Asked again after the promise settles.
   */
  pendingWork?(): Promise<void> | undefined;
  /** The operator's connector metrics (counters and gauges by name), added to the subtask's metrics. */
  connectorMetrics?(): Record<string, number>;
  /** Release resources; calls the user function's `close`. */
  close(): void;
}

/** A source's run loop, driven by the task in slices so the thread stays responsive. */
export interface SourceOperator extends StreamOperator {
  /**
   * Emits up to about `maxRecords` records into the output and returns
   * 'MORE' if it has more right now, 'IDLE' if it has nothing now (unbounded,
   * waiting on I/O or rate limit; the task polls again soon), or 'END' when a
   * bounded source is exhausted.
   */
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END';
}
