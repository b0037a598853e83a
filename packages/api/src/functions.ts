/**
 * The user-function contract: every interface a program implements or calls
 * while records flow. The runtime (`@freshet/runtime`) implements the contexts;
 * the program implements the functions. Names follow Apache Flink's so a Flink
 * user feels at home.
 *
 * A function may be given as a plain arrow function or as an object with the
 * method (and optional `open`/`close` lifecycle hooks, see {@link RichFunction}).
 */

import type {
  Accumulator,
  DoubleCounter,
  HistogramAccumulator,
  IntCounter,
  LongCounter,
} from './accumulators.js';
import type { MetricGroup } from './metrics.js';

/** Marker type for timestamps: epoch milliseconds. */
export type Millis = number;

/** Keys must hash deterministically across processes: strings and numbers only. */
export type Key = string | number;

/** Extracts the key of a record. Must be deterministic and pure. */
export type KeySelector<T, K extends Key = Key> = (value: T) => K;

/**
 * Picks the parallel instance of the next operator for a key (Flink's
 * `Partitioner`, for `partitionCustom`): returns an integer in
 * `[0, numPartitions)`. Must be deterministic and pure.
 */
export interface Partitioner<K> {
  partition(key: K, numPartitions: number): number;
}

/** A {@link Partitioner} as an object or as a plain function. */
export type PartitionerLike<K> = Partitioner<K> | ((key: K, numPartitions: number) => number);

/** Receives the records a function emits. */
export interface Collector<T> {
  /** Emits one record, with the timestamp of the record being processed. */
  collect(value: T): void;
}

/** Identifies a side output; `id` must be unique within a job. */
export class OutputTag<T> {
  /** Phantom field carrying the record type; never set. */
  declare readonly __type?: T;
  constructor(
    /** Stable identifier of the side output. */
    readonly id: string,
  ) {
    if (!id) throw new TypeError('OutputTag needs a non-empty id');
  }
}

/** The job a function runs in (Flink's JobInfo). */
export interface JobInfo {
  /** Id of the job (the JobManager's job id; a fresh id per local run). */
  readonly jobId: string;
  /** Name of the job (`env.setJobName`, or the submission's name). */
  readonly jobName: string;
}

/** Information about the parallel instance a function runs in (Flink's TaskInfo). */
export interface TaskInfo {
  /** Name of the operator. */
  readonly operatorName: string;
  /** Name of the task: the chain of operators this one is fused into, e.g. `Source: lines -> tokenize`. */
  readonly taskName: string;
  /** `taskName (subtaskIndex + 1/parallelism)#attempt`, as Flink's logs name a subtask. */
  readonly taskNameWithSubtasks: string;
  /** 0-based index of this parallel instance. */
  readonly subtaskIndex: number;
  /** Number of parallel instances of this operator. */
  readonly parallelism: number;
  /** Number of key groups of the job. */
  readonly maxParallelism: number;
  /** Attempt number of this subtask, 0 on the first run. */
  readonly attempt: number;
}

/**
 * Access to the runtime from inside a function (Flink's RuntimeContext): the
 * job and task it runs in, keyed state, metrics and accumulators. Given to
 * `open(ctx)`, and returned by `getRuntimeContext()` of functions that
 * extend {@link AbstractRichFunction}.
 */
export interface RuntimeContext extends TaskInfo, JobInfo {
  /** The job this function runs in. */
  getJobInfo(): JobInfo;
  /** The parallel instance this function runs in. */
  getTaskInfo(): TaskInfo;
  /** The operator's metric group: register counters, gauges, meters and histograms here. */
  getMetricGroup(): MetricGroup;
  /**
   * Registers an accumulator under `name` (unique per subtask); the job merges
   * the subtasks' values by name (see `accumulators.ts`).
   */
  addAccumulator<V, R>(name: string, accumulator: Accumulator<V, R>): void;
  /** The accumulator registered under `name` in this subtask, if any. */
  getAccumulator<V, R>(name: string): Accumulator<V, R> | undefined;
  /** The {@link IntCounter} named `name`, created and registered on first use. */
  getIntCounter(name: string): IntCounter;
  /** The {@link LongCounter} named `name`, created and registered on first use. */
  getLongCounter(name: string): LongCounter;
  /** The {@link DoubleCounter} named `name`, created and registered on first use. */
  getDoubleCounter(name: string): DoubleCounter;
  /** The {@link HistogramAccumulator} named `name`, created and registered on first use. */
  getHistogram(name: string): HistogramAccumulator;
  /** Keyed state; only on keyed streams. Call in `open` or while processing. */
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  /** Keyed list state; only on keyed streams. */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  /** Keyed map state; only on keyed streams. */
  getMapState<K extends Key, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  /** Keyed reducing state; only on keyed streams. */
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  /** Keyed aggregating state; only on keyed streams. */
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
}

/**
 * Optional lifecycle hooks any function object may have. Extend
 * {@link AbstractRichFunction} (or `RichMapFunction` and friends) to get
 * `getRuntimeContext()` as well.
 */
export interface RichFunction {
  /** Called by the runtime before `open` with the function's context (see {@link AbstractRichFunction}). */
  setRuntimeContext?(ctx: RuntimeContext): void;
  /** Called once per parallel instance before the first record. */
  open?(ctx: RuntimeContext): void;
  /** Called once when the instance ends (finished, cancelled or failed). */
  close?(): void;
}

/** One-to-one transformation. */
export type MapFunction<IN, OUT> = ((value: IN) => OUT) | (RichFunction & { map(value: IN): OUT });
/** One-to-many transformation. */
export type FlatMapFunction<IN, OUT> =
  | ((value: IN, out: Collector<OUT>) => void)
  | (RichFunction & { flatMap(value: IN, out: Collector<OUT>): void });
/** Keeps records for which it returns true. */
export type FilterFunction<T> = ((value: T) => boolean) | (RichFunction & { filter(value: T): boolean });
/** Combines two values of the same type (must be associative). */
export type ReduceFunction<T> = ((a: T, b: T) => T) | (RichFunction & { reduce(a: T, b: T): T });

/** Incremental aggregation with an accumulator (Flink's AggregateFunction). */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  merge(a: ACC, b: ACC): ACC;
}

/** Reads and registers timers. Event-time timers fire when the watermark passes them. */
export interface TimerService {
  currentProcessingTime(): Millis;
  currentWatermark(): Millis;
  registerEventTimeTimer(time: Millis): void;
  registerProcessingTimeTimer(time: Millis): void;
  deleteEventTimeTimer(time: Millis): void;
  deleteProcessingTimeTimer(time: Millis): void;
}

/** Context of a {@link ProcessFunction} call. */
export interface ProcessContext {
  /** Timestamp of the current record, or `undefined` if it has none. */
  timestamp(): Millis | undefined;
  /** Timer access (timers only on keyed streams). */
  timerService(): TimerService;
  /** Emits to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** Context of a {@link KeyedProcessFunction} call. */
export interface KeyedProcessContext<K extends Key> extends ProcessContext {
  getCurrentKey(): K;
}

/** Context of an `onTimer` call. */
export interface OnTimerContext<K extends Key> extends KeyedProcessContext<K> {
  timeDomain(): 'EVENT_TIME' | 'PROCESSING_TIME';
}

/** Low-level processing of each record, with side outputs. */
export interface ProcessFunction<IN, OUT> extends RichFunction {
  processElement(value: IN, ctx: ProcessContext, out: Collector<OUT>): void;
}

/** Low-level processing on a keyed stream: keyed state and timers. */
export interface KeyedProcessFunction<K extends Key, IN, OUT> extends RichFunction {
  processElement(value: IN, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  onTimer?(timestamp: Millis, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
}

/** Two-input map over connected streams. */
export interface CoMapFunction<IN1, IN2, OUT> extends RichFunction {
  map1(value: IN1): OUT;
  map2(value: IN2): OUT;
}
/** Two-input flatMap over connected streams. */
export interface CoFlatMapFunction<IN1, IN2, OUT> extends RichFunction {
  flatMap1(value: IN1, out: Collector<OUT>): void;
  flatMap2(value: IN2, out: Collector<OUT>): void;
}
/** Two-input process function (keyed when both inputs are keyed: then state and timers work). */
export interface CoProcessFunction<IN1, IN2, OUT> extends RichFunction {
  processElement1(value: IN1, ctx: ProcessContext, out: Collector<OUT>): void;
  processElement2(value: IN2, ctx: ProcessContext, out: Collector<OUT>): void;
}
/** Keyed two-input process function with timers. */
export interface KeyedCoProcessFunction<K extends Key, IN1, IN2, OUT> extends RichFunction {
  processElement1(value: IN1, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  processElement2(value: IN2, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  onTimer?(timestamp: Millis, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
}

/** Read-only view of broadcast state, given to the non-broadcast side. */
export interface ReadOnlyBroadcastState<K extends Key, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  entries(): IterableIterator<[K, V]>;
}
/** Writable broadcast state, given to the broadcast side. */
export interface BroadcastState<K extends Key, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void;
  remove(key: K): void;
  clear(): void;
}
/** Context on the non-broadcast side of a broadcast connection. */
export interface ReadOnlyBroadcastContext extends ProcessContext {
  getBroadcastState<K extends Key, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V>;
}
/** Context on the broadcast side of a broadcast connection. */
export interface BroadcastContext extends ProcessContext {
  getBroadcastState<K extends Key, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>;
}
/** Processes a non-keyed stream connected with a broadcast stream. */
export interface BroadcastProcessFunction<IN1, IN2, OUT> extends RichFunction {
  processElement(value: IN1, ctx: ReadOnlyBroadcastContext, out: Collector<OUT>): void;
  processBroadcastElement(value: IN2, ctx: BroadcastContext, out: Collector<OUT>): void;
}
/** Processes a keyed stream connected with a broadcast stream (keyed state and timers on the keyed side). */
export interface KeyedBroadcastProcessFunction<K extends Key, IN1, IN2, OUT> extends RichFunction {
  processElement(
    value: IN1,
    ctx: ReadOnlyBroadcastContext & KeyedProcessContext<K>,
    out: Collector<OUT>,
  ): void;
  processBroadcastElement(value: IN2, ctx: BroadcastContext, out: Collector<OUT>): void;
  onTimer?(timestamp: Millis, ctx: OnTimerContext<K> & ReadOnlyBroadcastContext, out: Collector<OUT>): void;
}

/** Joins a pair of records from a window join. */
export type JoinFunction<IN1, IN2, OUT> = (left: IN1, right: IN2) => OUT;

/**
 * Sees all records of both sides with one key in one window (Flink's
 * CoGroupFunction); one side may be empty (an outer join is a coGroup).
 */
export type CoGroupFunction<IN1, IN2, OUT> =
  | ((first: readonly IN1[], second: readonly IN2[], out: Collector<OUT>) => void)
  | (RichFunction & { coGroup(first: readonly IN1[], second: readonly IN2[], out: Collector<OUT>): void });

/** Context of an interval join. */
export interface IntervalJoinContext {
  leftTimestamp(): Millis;
  rightTimestamp(): Millis;
  /** max(leftTimestamp, rightTimestamp): the timestamp of emitted records. */
  timestamp(): Millis;
  output<X>(tag: OutputTag<X>, value: X): void;
}
/** Processes each joined pair of an interval join. */
export interface ProcessJoinFunction<IN1, IN2, OUT> extends RichFunction {
  processElement(left: IN1, right: IN2, ctx: IntervalJoinContext, out: Collector<OUT>): void;
}

// ---------------------------------------------------------------- windows

/** A window: `[start, end)` in milliseconds; the global window is `[-Infinity, +Infinity)`. */
export interface TimeWindow {
  readonly start: Millis;
  readonly end: Millis;
}
/** Largest timestamp that belongs to a window: `end - 1`. */
export function maxTimestamp(window: TimeWindow): Millis {
  return window.end - 1;
}

/**
 * Keyed state scoped by the window function's context (Flink's
 * KeyedStateStore): `windowState()` is per key and window, `globalState()`
 * per key across its windows.
 */
export interface KeyedStateStore {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<K extends Key, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
}

/** Context of a {@link ProcessWindowFunction} call. */
export interface ProcessWindowContext {
  window(): TimeWindow;
  currentWatermark(): Millis;
  currentProcessingTime(): Millis;
  output<X>(tag: OutputTag<X>, value: X): void;
  /**
   * State of this key and window: kept across firings of the window (a
   * trigger that fires early, allowed lateness) and dropped when the window
   * is cleaned up. Not available on merging (session) windows, as in Flink.
   */
  windowState(): KeyedStateStore;
  /** State of this key across all its windows (the same as the runtime context's keyed state). */
  globalState(): KeyedStateStore;
}
/** Full window function: sees every element (or the pre-aggregated result) of a window at once. */
export interface ProcessWindowFunction<IN, OUT, K extends Key> extends RichFunction {
  process(key: K, ctx: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>): void;
  /** Called when a window is cleaned up, before its `windowState()` is dropped. */
  clear?(ctx: ProcessWindowContext): void;
}
/** Full window function over a non-keyed (all) window. */
export interface ProcessAllWindowFunction<IN, OUT> extends RichFunction {
  process(ctx: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>): void;
  /** Called when a window is cleaned up, before its `windowState()` is dropped. */
  clear?(ctx: ProcessWindowContext): void;
}
/**
 * Flink's older window function: the key, the window and its elements
 * (`apply(fn)` on a windowed stream). The object form declares `call?: never`
 * because every JavaScript function has an `apply` method of its own: without
 * it, a function of the wrong types would pass for the object form.
 */
export type WindowFunction<IN, OUT, K extends Key> =
  | ((key: K, window: TimeWindow, elements: readonly IN[], out: Collector<OUT>) => void)
  | (RichFunction & {
      apply(key: K, window: TimeWindow, elements: readonly IN[], out: Collector<OUT>): void;
      call?: never;
    });
/** Window function of a non-keyed window (`apply(fn)` on an all-windowed stream); see {@link WindowFunction}. */
export type AllWindowFunction<IN, OUT> =
  | ((window: TimeWindow, elements: readonly IN[], out: Collector<OUT>) => void)
  | (RichFunction & {
      apply(window: TimeWindow, elements: readonly IN[], out: Collector<OUT>): void;
      call?: never;
    });

/** An element of a window with its timestamp, as evictors see it (Flink's TimestampedValue). */
export interface TimestampedValue<T> {
  readonly value: T;
  /** The record's timestamp; `undefined` if it has none. */
  readonly timestamp: Millis | undefined;
}

/** What an evictor may read (Flink's Evictor.EvictorContext). */
export interface EvictorContext {
  getCurrentProcessingTime(): Millis;
  getCurrentWatermark(): Millis;
}

/**
 * Removes elements from a window before and/or after its function runs
 * (Flink's Evictor). `elements` is the window's buffer, oldest first:
 * remove in place (`elements.splice(...)`); what is left stays in the window.
 * A window with an evictor keeps every element (no incremental
 * reduce/aggregate), as in Flink.
 */
export interface Evictor<T> {
  evictBefore(elements: TimestampedValue<T>[], size: number, window: TimeWindow, ctx: EvictorContext): void;
  evictAfter(elements: TimestampedValue<T>[], size: number, window: TimeWindow, ctx: EvictorContext): void;
}

/** What a trigger decides. */
export type TriggerResult = 'CONTINUE' | 'FIRE' | 'PURGE' | 'FIRE_AND_PURGE';

/** Services a trigger uses (timers and per-window, per-key trigger state). */
export interface TriggerContext {
  getCurrentWatermark(): Millis;
  getCurrentProcessingTime(): Millis;
  registerEventTimeTimer(time: Millis): void;
  registerProcessingTimeTimer(time: Millis): void;
  deleteEventTimeTimer(time: Millis): void;
  deleteProcessingTimeTimer(time: Millis): void;
  /** Per-key, per-window state for the trigger itself. */
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
}

/** Decides when a window's contents are emitted (Flink's Trigger). */
export interface Trigger<T> {
  onElement(element: T, timestamp: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  onEventTime(time: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  onProcessingTime(time: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  /** Whether this trigger supports merging windows (session windows). @default false */
  canMerge?(): boolean;
  onMerge?(window: TimeWindow, ctx: TriggerContext): void;
  /** Deletes timers and state this trigger keeps for the window. */
  clear(window: TimeWindow, ctx: TriggerContext): void;
}

// ---------------------------------------------------------------- state

/** Time-to-live of keyed state entries. */
export interface StateTtlConfig {
  /** Lifetime of an entry in milliseconds (processing time). */
  ttlMs: number;
  /** Which accesses refresh the lifetime. @default 'OnCreateAndWrite' */
  updateType?: 'OnCreateAndWrite' | 'OnReadAndWrite';
  /** Expired values are never returned. @default 'NeverReturnExpired' */
  visibility?: 'NeverReturnExpired' | 'ReturnExpiredIfNotCleanedUp';
}

/** Common fields of state descriptors. */
abstract class StateDescriptor {
  /** Time-to-live, if set with {@link StateDescriptor.enableTimeToLive}. */
  ttl: StateTtlConfig | undefined;
  constructor(
    /** Unique name of the state within its operator. */
    readonly name: string,
  ) {
    if (!name) throw new TypeError('A state descriptor needs a non-empty name');
  }
  /** Expires entries `ttl.ttlMs` after their last write (or read). */
  enableTimeToLive(ttl: StateTtlConfig): this {
    if (!(ttl.ttlMs > 0)) throw new RangeError(`State '${this.name}': ttlMs must be > 0 (got ${ttl.ttlMs})`);
    this.ttl = ttl;
    return this;
  }
}

/** Describes a {@link ValueState}. */
export class ValueStateDescriptor<T> extends StateDescriptor {
  readonly kind = 'value';
  declare readonly __type?: T;
  constructor(
    name: string,
    /** Value returned when nothing is stored. */
    readonly defaultValue?: T,
  ) {
    super(name);
  }
}
/** Describes a {@link ListState}. */
// The type parameters are phantoms: they carry the state's types to `getListState`/`getMapState`.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export class ListStateDescriptor<T> extends StateDescriptor {
  readonly kind = 'list';
  declare readonly __type?: T;
}
/** Describes a {@link MapState} (also used for broadcast state). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export class MapStateDescriptor<K extends Key, V> extends StateDescriptor {
  readonly kind = 'map';
  declare readonly __key?: K;
  declare readonly __value?: V;
}
/** Describes a {@link ReducingState}. */
export class ReducingStateDescriptor<T> extends StateDescriptor {
  readonly kind = 'reducing';
  constructor(
    name: string,
    readonly reduce: (a: T, b: T) => T,
  ) {
    super(name);
  }
}
/** Describes an {@link AggregatingState}. */
export class AggregatingStateDescriptor<IN, ACC, OUT> extends StateDescriptor {
  readonly kind = 'aggregating';
  constructor(
    name: string,
    readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(name);
  }
}

/** A single value per key. */
export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}
/** A list per key. */
export interface ListState<T> {
  get(): readonly T[];
  add(value: T): void;
  addAll(values: readonly T[]): void;
  update(values: readonly T[]): void;
  clear(): void;
}
/** A map per key. */
export interface MapState<K extends Key, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  contains(key: K): boolean;
  remove(key: K): void;
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
  clear(): void;
}
/** A value per key combined by a reduce function. */
export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}
/** An accumulator per key. */
export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}
