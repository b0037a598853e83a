/**
 * Shared machinery of all operators: opening (keyed backend, restore, user
 * function `open`), the runtime context, error surfacing, snapshots, and the
 * reusable collector / context objects that keep the hot path allocation-free.
 */
import { tmpdir } from 'node:os';
import {
  DoubleCounter,
  HistogramAccumulator,
  IntCounter,
  LongCounter,
  type Accumulator,
  type AggregatingState,
  type AggregatingStateDescriptor,
  type Collector,
  type Key,
  type ListState,
  type ListStateDescriptor,
  type MapState,
  type MapStateDescriptor,
  type OutputTag,
  type ReducingState,
  type ReducingStateDescriptor,
  type RichFunction,
  type RuntimeContext,
  type TimerService,
  type ValueState,
  type ValueStateDescriptor,
  type JobInfo,
  type MetricGroup,
  type TaskInfo,
} from '@freshet/api';
import { SubtaskMetricRegistry } from '../metrics/user-metrics.js';
import type { StreamNode } from '@freshet/graph';
import {
  MIN_WATERMARK,
  NO_TIMESTAMP,
  type OperatorContext,
  type OperatorSnapshot,
  type Output,
  type StreamOperator,
} from '../operator.js';
import { HeapKeyedStateBackend } from '../state/backend.js';
import type { SnapshotGuard } from '../state/snapshot-guard.js';
import {
  InternalTimerService,
  type Timer,
  type TimerServiceOptions,
  type TimerTarget,
} from '../timers/timer-service.js';
import { OperatorUsageError, surfaceUserError } from './errors.js';
import { resolveCallable, resolveOptionalMethod, richOf } from './functions.js';

/** Key selector as resolved at open. */

/** A user function's `onTimer` method, resolved once at open. */
type OnTimerFn = (timestamp: number, ctx: unknown, out: Collector<unknown>) => void;
export type KeyFn = (value: unknown) => Key;

/** Base class of the operators in this package. */
export abstract class AbstractOperator implements StreamOperator {
  /** Operator name (for errors). */
  readonly name: string;
  /** Set in {@link open}. */
  protected ctx!: OperatorContext;
  /** Set in {@link open}. */
  protected output!: Output;
  /** Keyed state backend; only on keyed operators. */
  protected backend: HeapKeyedStateBackend | undefined;
  /** Timer service; created by {@link timerService} on keyed operators. */
  protected timers: InternalTimerService | undefined;
  /** The last watermark this operator received. */
  protected currentWatermark = MIN_WATERMARK;
  /** The watermark restored from a checkpoint: lower ones (from replaying inputs) are ignored. */
  private restoredWatermark = MIN_WATERMARK;
  /** User functions whose `open`/`close` hooks this operator calls. */
  private readonly richFunctions: RichFunction[] = [];
  private runtimeContext: OperatorRuntimeContext | undefined;

  constructor(readonly node: StreamNode) {
    this.name = node.name;
  }

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    this.output = ctx.output;
    if (this.usesKeyedBackend()) {
      this.backend = new HeapKeyedStateBackend({
        operatorName: this.name,
        maxParallelism: ctx.maxParallelism,
        keyGroupRange: ctx.keyGroupRange,
        now: () => ctx.processingTime.now(),
        ...(ctx.job.stateBackend === 'disk' ? { disk: { dir: ctx.localStateDir ?? tmpdir() } } : {}),
      });
    }
    this.setup();
    if (restored && restored.length > 0) {
      this.backend?.restore(restored);
      this.restoreOperatorState(restored);
      this.restoreWatermark(restored);
      this.afterRestore();
    }
    const rc = this.getRuntimeContext();
    for (const fn of this.richFunctions) {
      try {
        // AbstractRichFunction's getRuntimeContext() works from here on.
        if (typeof fn.setRuntimeContext === 'function') fn.setRuntimeContext(rc);
        if (typeof fn.open !== 'function') continue;
        fn.open(rc);
      } catch (error) {
        this.fail(error, 'open');
      }
    }
  }

  /** Whether this operator keeps keyed state (all-window operators do, under one constant key). */
  protected usesKeyedBackend(): boolean {
    return this.node.keyed;
  }

  /** Resolves user functions, creates timer services and state parts (called in open, before restore). */
  protected abstract setup(): void;

  /** Restores non-keyed operator state; default: none. */
  protected restoreOperatorState(_restored: readonly OperatorSnapshot[]): void {
    // Most operators keep only keyed state.
  }

  /** Called once the state is restored (before the user functions' `open`), e.g. to derive timers; default: nothing. */
  protected afterRestore(): void {
    // Most operators keep everything in their restored state.
  }

  /** Non-keyed operator state for a snapshot; default: none. */
  protected snapshotOperatorState(): unknown {
    return undefined;
  }

  /** The lowest watermark of the former subtasks (after a rescale, the most careful choice). */
  private restoreWatermark(restored: readonly OperatorSnapshot[]): void {
    let w = Number.POSITIVE_INFINITY;
    for (const s of restored) w = Math.min(w, s.watermark ?? MIN_WATERMARK);
    if (w === Number.POSITIVE_INFINITY || w === MIN_WATERMARK) return;
    this.restoredWatermark = w;
    this.currentWatermark = w;
    if (this.timers) this.timers.currentWatermark = w;
  }

  abstract processElement(value: unknown, timestamp: number): void;

  processWatermark(watermark: number): void {
    if (watermark < this.restoredWatermark) return;
    this.currentWatermark = watermark;
    this.timers?.advanceWatermark(watermark);
    this.output.emitWatermark(watermark);
  }

  endInput(): void {
    // Nothing buffered by default: the watermark +Infinity already fired event-time timers.
  }

  snapshotState(checkpointId: number, full?: boolean): OperatorSnapshot {
    const snapshot: OperatorSnapshot = {};
    if (this.backend) snapshot.keyed = this.backend.snapshot(checkpointId, full);
    const operatorState = this.snapshotOperatorState();
    if (operatorState !== undefined) snapshot.operator = operatorState;
    if (this.currentWatermark > MIN_WATERMARK) snapshot.watermark = this.currentWatermark;
    return snapshot;
  }

  /** Whether every state part of the keyed backend guards the snapshot just taken (see `StreamOperator`). */
  guardSnapshot(guard: SnapshotGuard): boolean {
    return this.backend === undefined || this.backend.guardSnapshot(guard);
  }

  /** The keyed state backend's pieces of checkpoint `checkpointId` become the base of incremental snapshots. */
  notifyCheckpointComplete(checkpointId: number): void {
    this.backend?.notifyCheckpointComplete(checkpointId);
  }

  /** The keyed state backend writes again what checkpoint `checkpointId` wrote. */
  notifyCheckpointAborted(checkpointId: number): void {
    this.backend?.notifyCheckpointAborted(checkpointId);
  }

  close(): void {
    this.timers?.close();
    let first: unknown;
    let failed = false;
    for (const fn of this.richFunctions) {
      if (typeof fn.close !== 'function') continue;
      try {
        fn.close();
      } catch (error) {
        if (!failed) {
          failed = true;
          first = error;
        }
      }
    }
    // The on-disk store goes however the task ends (finish, fail, cancel); user close() hooks ran first.
    this.backend?.dispose();
    if (failed) this.fail(first, 'close');
  }

  /** Reports a user function failure (wrapped in a UserFunctionError naming this operator) and throws. */
  /**
   * The context a process-style function gets. On a keyed operator its timer
   * service registers keyed timers whose firing calls the function's optional
   * `onTimer` (resolved once, here) with the
   * context and collector set to the timer's time (event time) or no timestamp
   * (processing time) and its time domain; otherwise timers are refused with an
   * explanation. Shared by every operator that offers timers.
   */
  protected createProcessContext(
    keyed: boolean,
    fn: unknown,
    collector: TimestampedCollector,
  ): ProcessContextImpl {
    if (!keyed) {
      return new ProcessContextImpl(this.output, this.nonKeyedTimerService(), undefined, this.name);
    }
    const onTimer = resolveOptionalMethod<OnTimerFn>(fn, 'onTimer');
    const fire = (timer: Timer, eventTime: boolean): void => {
      if (!onTimer) return;
      const ts = eventTime ? timer.time : NO_TIMESTAMP;
      pctx.ts = ts;
      pctx.domain = eventTime ? 'EVENT_TIME' : 'PROCESSING_TIME';
      collector.timestamp = ts;
      try {
        onTimer(timer.time, pctx, collector);
      } catch (error) {
        this.fail(error, 'onTimer');
      }
    };
    const timers = this.timerService({
      onEventTime: (timer) => {
        fire(timer, true);
      },
      onProcessingTime: (timer) => {
        fire(timer, false);
      },
    });
    const pctx = new ProcessContextImpl(this.output, new KeyedTimerService(timers), this.backend, this.name);
    return pctx;
  }

  /** Timer service of a non-keyed function: reads time, refuses timers with a clear error. */
  protected nonKeyedTimerService(): NonKeyedTimerService {
    return new NonKeyedTimerService(this.name, this.ctx, () => this.currentWatermark);
  }

  protected fail(error: unknown, where: string): never {
    return surfaceUserError(error, this.name, where, this.ctx?.reportUserError);
  }

  /** Registers a user function whose `open`/`close` hooks must be called. */
  protected addRichFunction(fn: unknown): void {
    const rich = richOf(fn);
    if (rich && !this.richFunctions.includes(rich)) this.richFunctions.push(rich);
  }

  /** Resolves `fns[slot]` as a callable of `method`, remembering its lifecycle hooks. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the callable's type
  protected userFunction<F extends (...args: never[]) => unknown>(fn: unknown, method: string): F {
    const callable = resolveCallable<F>(fn, method, this.name);
    this.addRichFunction(fn);
    return callable;
  }

  /** The key selector of input `input` (`fns.key` or `fns.key2`). */
  protected keySelector(input: 0 | 1 = 0): KeyFn {
    const fn = input === 0 ? this.node.fns.key : this.node.fns.key2;
    if (typeof fn !== 'function') {
      throw new OperatorUsageError(
        `Operator '${this.name}' is keyed but has no key selector for input ${input} (fns.${input === 0 ? 'key' : 'key2'})`,
      );
    }
    return fn as KeyFn;
  }

  /** The keyed backend, or a clear error naming what needs it. */
  protected requireBackend(what: string): HeapKeyedStateBackend {
    if (!this.backend) {
      throw new OperatorUsageError(
        `${what} needs a keyed stream, but operator '${this.name}' is not keyed: call keyBy(...) first`,
      );
    }
    return this.backend;
  }

  /** Creates the operator's keyed timer service (keyed operators only). */
  protected timerService(
    target: TimerTarget,
    name?: string,
    options?: TimerServiceOptions,
  ): InternalTimerService {
    const backend = this.requireBackend('Timers');
    const service = new InternalTimerService(backend, this.ctx.processingTime, target, name, options);
    this.timers ??= service;
    return service;
  }

  /** The RuntimeContext given to user functions' `open`. */
  getRuntimeContext(): RuntimeContext {
    return (this.runtimeContext ??= new OperatorRuntimeContext(this.ctx, this.backend, this.name));
  }
}

/**
 * The {@link RuntimeContext} of an operator: job and task info, the
 * operator's metric group, the subtask's accumulators, and keyed state
 * (keyed operators only).
 */
export class OperatorRuntimeContext implements RuntimeContext {
  readonly jobId: string;
  readonly jobName: string;
  readonly operatorName: string;
  readonly taskName: string;
  readonly taskNameWithSubtasks: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly attempt: number;
  private readonly registry: SubtaskMetricRegistry;
  private metricGroup: MetricGroup | undefined;
  constructor(
    ctx: OperatorContext,
    private readonly backend: HeapKeyedStateBackend | undefined,
    name: string,
  ) {
    this.jobId = ctx.jobId ?? '';
    this.jobName = ctx.job.name;
    this.operatorName = name;
    this.taskName = ctx.taskName ?? name;
    this.subtaskIndex = ctx.subtaskIndex;
    this.parallelism = ctx.parallelism;
    this.maxParallelism = ctx.maxParallelism;
    this.attempt = ctx.attempt;
    this.taskNameWithSubtasks = `${this.taskName} (${ctx.subtaskIndex + 1}/${ctx.parallelism})#${ctx.attempt}`;
    this.registry = ctx.metrics ?? new SubtaskMetricRegistry();
  }
  getJobInfo(): JobInfo {
    return { jobId: this.jobId, jobName: this.jobName };
  }
  getTaskInfo(): TaskInfo {
    return {
      operatorName: this.operatorName,
      taskName: this.taskName,
      taskNameWithSubtasks: this.taskNameWithSubtasks,
      subtaskIndex: this.subtaskIndex,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      attempt: this.attempt,
    };
  }
  getMetricGroup(): MetricGroup {
    return (this.metricGroup ??= this.registry.operatorGroup(this.operatorName));
  }
  addAccumulator<V, R>(name: string, accumulator: Accumulator<V, R>): void {
    this.registry.addAccumulator(name, accumulator);
  }
  getAccumulator<V, R>(name: string): Accumulator<V, R> | undefined {
    return this.registry.getAccumulator(name) as Accumulator<V, R> | undefined;
  }
  getIntCounter(name: string): IntCounter {
    return this.accumulatorOf(name, IntCounter);
  }
  getLongCounter(name: string): LongCounter {
    return this.accumulatorOf(name, LongCounter);
  }
  getDoubleCounter(name: string): DoubleCounter {
    return this.accumulatorOf(name, DoubleCounter);
  }
  getHistogram(name: string): HistogramAccumulator {
    return this.accumulatorOf(name, HistogramAccumulator);
  }
  /** The accumulator `name`, created on first use; refuses one of another class under that name. */
  private accumulatorOf<A extends Accumulator<never, unknown>>(name: string, type: new () => A): A {
    const existing = this.registry.getAccumulator(name);
    if (existing === undefined) {
      const created = new type();
      this.registry.addAccumulator(name, created);
      return created;
    }
    if (!(existing instanceof type)) {
      throw new OperatorUsageError(
        `The accumulator '${name}' exists as ${existing.constructor.name}, not ${type.name}: give each accumulator its own name`,
      );
    }
    return existing;
  }
  private keyed(descriptorName: string): HeapKeyedStateBackend {
    if (!this.backend) {
      throw new OperatorUsageError(
        `State '${descriptorName}': keyed state is only available on keyed streams, but operator ` +
          `'${this.operatorName}' is not keyed. Call keyBy(...) before it, or use broadcast state.`,
      );
    }
    return this.backend;
  }
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.keyed(descriptor.name).getValueState(descriptor);
  }
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.keyed(descriptor.name).getListState(descriptor);
  }
  getMapState<K extends Key, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.keyed(descriptor.name).getMapState(descriptor);
  }
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.keyed(descriptor.name).getReducingState(descriptor);
  }
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.keyed(descriptor.name).getAggregatingState(descriptor);
  }
}

/** A {@link Collector} that emits with the timestamp of the record being processed; one per operator. */
export class TimestampedCollector implements Collector<unknown> {
  /** Timestamp given to collected records; set per record. */
  timestamp = NO_TIMESTAMP;
  constructor(private readonly out: Output) {}
  collect(value: unknown): void {
    this.out.collect(value, this.timestamp);
  }
}

/** {@link TimerService} of a keyed operator (namespace 0). */
export class KeyedTimerService implements TimerService {
  constructor(private readonly timers: InternalTimerService) {}
  currentProcessingTime(): number {
    return this.timers.currentProcessingTime();
  }
  currentWatermark(): number {
    return this.timers.currentWatermark;
  }
  registerEventTimeTimer(time: number): void {
    this.timers.registerEventTimeTimer(0, time);
  }
  registerProcessingTimeTimer(time: number): void {
    this.timers.registerProcessingTimeTimer(0, time);
  }
  deleteEventTimeTimer(time: number): void {
    this.timers.deleteEventTimeTimer(0, time);
  }
  deleteProcessingTimeTimer(time: number): void {
    this.timers.deleteProcessingTimeTimer(0, time);
  }
}

/** {@link TimerService} of a non-keyed operator: time queries work, timers are a usage error. */
export class NonKeyedTimerService implements TimerService {
  constructor(
    private readonly operatorName: string,
    private readonly ctx: OperatorContext,
    private readonly watermark: () => number,
  ) {}
  currentProcessingTime(): number {
    return this.ctx.processingTime.now();
  }
  currentWatermark(): number {
    return this.watermark();
  }
  private noTimers(): never {
    throw new OperatorUsageError(
      `Timers are only available on keyed streams, but operator '${this.operatorName}' is not keyed: ` +
        'use keyBy(...).process(...) with a KeyedProcessFunction',
    );
  }
  registerEventTimeTimer(_time: number): void {
    this.noTimers();
  }
  registerProcessingTimeTimer(_time: number): void {
    this.noTimers();
  }
  deleteEventTimeTimer(_time: number): void {
    this.noTimers();
  }
  deleteProcessingTimeTimer(_time: number): void {
    this.noTimers();
  }
}

/**
 * The one context object a process-style operator reuses for every call
 * (processElement, onTimer, broadcast sides): fields are updated per call.
 * It implements the union of the process contexts.
 */
export class ProcessContextImpl {
  /** Timestamp of the current record (NO_TIMESTAMP if none). */
  ts = NO_TIMESTAMP;
  /** Time domain of the current timer, while in onTimer. */
  domain: 'EVENT_TIME' | 'PROCESSING_TIME' = 'EVENT_TIME';
  /** Broadcast state lookup, on broadcast operators. */
  broadcast: ((name: string) => unknown) | undefined;
  constructor(
    private readonly out: Output,
    private readonly timers: TimerService,
    private readonly backend: HeapKeyedStateBackend | undefined,
    private readonly operatorName: string,
  ) {}
  timestamp(): number | undefined {
    return this.ts === NO_TIMESTAMP ? undefined : this.ts;
  }
  timerService(): TimerService {
    return this.timers;
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value, this.ts);
  }
  getCurrentKey(): never {
    if (!this.backend) {
      throw new OperatorUsageError(`Operator '${this.operatorName}' is not keyed: there is no current key`);
    }
    return this.backend.getCurrentKey() as never;
  }
  timeDomain(): 'EVENT_TIME' | 'PROCESSING_TIME' {
    return this.domain;
  }
  getBroadcastState(descriptor: { name: string }): never {
    if (!this.broadcast) {
      throw new OperatorUsageError(`Operator '${this.operatorName}' has no broadcast state`);
    }
    return this.broadcast(descriptor.name) as never;
  }
}
