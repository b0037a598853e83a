/**
 * The source contract (Flink's FLIP-27 shape): a {@link Source} has
 * *splits* (a file, a byte range of a file, a Kafka partition, a key range
 * of a table), a {@link SplitEnumerator} that discovers them, and a
 * {@link SourceReader} per parallel instance that reads the splits it owns.
 * `env.fromSource(source, watermarkStrategy, name)` plugs one in.
 *
 * Where Freshet differs from Flink: the enumerator does not run on the
 * JobManager (which never runs user code). Every source subtask runs its own
 * replica of the enumerator, and a split belongs to the subtask
 * {@link Source.splitOwner} names, a pure function of the split and the
 * parallelism — as Flink's Kafka enumerator assigns partitions. The replicas
 * therefore agree without talking to each other, a split discovered while
 * running (a new file, a new partition) lands on exactly one reader, and a
 * job restored at another parallelism hands every split to its new owner.
 *
 * Splits are plain data (they go into checkpoints): a reader's snapshot is
 * the list of its unfinished splits with their current positions, and a
 * restored reader resumes each split exactly there.
 */
import type { Millis } from '../functions.js';

/** Whether a source ends (bounded: files, a backfill) or runs until cancelled. */
export type Boundedness = 'BOUNDED' | 'CONTINUOUS_UNBOUNDED';

/** A unit of a source's work, as plain data: its position travels inside it. */
export interface SourceSplit {
  /** Unique within the source, stable across restarts (e.g. `orders-3`, `/data/a.csv:0-1048576`). */
  readonly splitId: string;
}

/** What a source's enumerator and reader know about where they run. */
export interface SourceContext {
  /** 0-based index of this source subtask. */
  readonly subtaskIndex: number;
  /** Number of parallel source subtasks. */
  readonly parallelism: number;
  /** Attempt of the subtask (0 on the first run, higher after restarts). */
  readonly attempt: number;
  /** The job's name. */
  readonly jobName: string;
  /** The source operator's name (for messages and client ids). */
  readonly operatorName: string;
}

/**
 * Finds a source's splits. One replica runs in every source subtask; the
 * runtime keeps the splits that {@link Source.splitOwner} gives to this
 * subtask and hands them to its reader.
 */
export interface SplitEnumerator<Split extends SourceSplit, EnumState> {
  /**
   * Returns splits not returned before (not in the state this enumerator
   * was restored from either). Called once when the subtask starts and,
   * for a continuous source, every {@link Source.discoveryIntervalMs}.
   * Update the enumerator's own state in the same synchronous step that
   * returns (after the last `await`), so a checkpoint sees both or neither.
   */
  discoverSplits(): Promise<readonly Split[]>;
  /** The enumerator's state for a checkpoint (plain data), e.g. the files already listed. */
  snapshotState(): EnumState;
  /** Releases clients (an admin connection). */
  close?(): Promise<void> | void;
}

/** How a reader's `pollNext` left things. */
export type InputStatus = 'MORE_AVAILABLE' | 'NOTHING_AVAILABLE' | 'END_OF_INPUT';

/** Where a reader emits the records of one split. */
export interface SplitOutput<T> {
  /**
   * Emits a record. `timestamp` is the record's own time if the medium has
   * one (a Kafka record's timestamp); the watermark strategy's timestamp
   * assigner, if set, gets it as `previousTimestamp` and decides.
   */
  collect(value: T, timestamp?: Millis): void;
}

/** The reader's output: one {@link SplitOutput} per split, for per-split watermarks. */
export interface ReaderOutput<T> {
  /** The output of split `splitId` (create it once per split and keep it). */
  forSplit(splitId: string): SplitOutput<T>;
  /** The split was read to its end: it no longer holds back the watermark. */
  splitFinished(splitId: string): void;
}

/** Counters a reader adds to its subtask's metrics. */
export interface ConnectorMetrics {
  /** Adds `n` to counter `name` (e.g. `bytesRead`). */
  inc(name: string, n: number): void;
  /** Sets gauge `name` (e.g. `lag.orders-0`). */
  set(name: string, value: number): void;
}

/** What a reader gets from the runtime. */
export interface SourceReaderContext extends SourceContext {
  /** The subtask's connector metrics (records read are counted by the runtime). */
  readonly metrics: ConnectorMetrics;
  /** Call when records arrived after `pollNext` answered `NOTHING_AVAILABLE`: the task polls again. */
  wakeUp(): void;
  /** Fails the subtask with `error` (for errors found in asynchronous work); the job restarts or fails per its strategy. */
  fail(error: unknown): void;
}

/**
 * Reads the splits of one source subtask. `pollNext` runs on the task's
 * thread between other work: it emits what is already at hand (read from a
 * file, or fetched in the background into a bounded buffer) and returns at
 * once; it never waits.
 */
export interface SourceReader<T, Split extends SourceSplit> {
  /** Connects, starts background fetching; the first `pollNext` comes after it resolved. */
  start?(): Promise<void> | void;
  /** Splits this reader owns from now on (restored ones with their positions, then discovered ones). */
  addSplits(splits: readonly Split[]): void;
  /** No further splits will come: once the current ones are done, `pollNext` answers `END_OF_INPUT`. */
  notifyNoMoreSplits(): void;
  /** Emits up to about `maxRecords` records and says whether more are at hand. */
  pollNext(output: ReaderOutput<T>, maxRecords: number): InputStatus;
  /** Every unfinished split with the position after the last record emitted. */
  snapshotState(checkpointId: number): Split[];
  /** Checkpoint `checkpointId` completed (Kafka commits offsets to the group, for monitoring). */
  notifyCheckpointComplete?(checkpointId: number): void;
  /** Releases files and clients. */
  close(): Promise<void> | void;
}

/**
 * A source of records of type `T` for `env.fromSource`. Implementations
 * are objects the program creates while it builds its pipeline; every
 * worker re-creates them by re-running the plan, so creating one must not
 * connect to anything (connect in the reader's `start`).
 */
export interface Source<T, Split extends SourceSplit = SourceSplit, EnumState = unknown> {
  /** Phantom field carrying the record type; never set. */
  readonly __type?: (value: never) => T;
  /** Bounded sources end; continuous ones run until the job is cancelled. */
  readonly boundedness: Boundedness;
  /**
   * The source as plain data (e.g. `{ connector: 'kafka', topics: [...] }`):
   * shown by `freshet plan`, part of the plan hash. Never put secrets here.
   */
  readonly description: { readonly connector: string } & Readonly<Record<string, unknown>>;
  /**
   * How often a continuous source's enumerator looks for new splits; a
   * source without it discovers once, then tells its readers no more
   * splits come.
   */
  readonly discoveryIntervalMs?: Millis;
  /** The enumerator replica of subtask `ctx.subtaskIndex`, restored from the given states (several after a rescale; none on a fresh start). */
  createEnumerator(ctx: SourceContext, restored: readonly EnumState[]): SplitEnumerator<Split, EnumState>;
  /** The reader of subtask `ctx.subtaskIndex`. */
  createReader(ctx: SourceReaderContext): SourceReader<T, Split>;
  /** The subtask (0..parallelism-1) that reads `split`. @default a stable hash of `splitId` modulo the parallelism */
  splitOwner?(split: Split, parallelism: number): number;
}

/** A stable, platform-independent hash of a string (FNV-1a, 32 bits): the default split owner. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
