/**
 * Windowed streams: `keyBy(...).window(assigner)` (WindowedStream) and
 * `windowAll(assigner)` (AllWindowedStream). Settings (trigger, allowed
 * lateness, late-data side output) return a new windowed stream; the window
 * function creates the node.
 */
import type { InputSpec, Producer } from './builder.js';
import { checkMethods, checkNonNegativeInt, checkUserFunction, describeValue } from './check.js';
import { addOperator, type SingleOutputStreamOperator } from './datastream.js';
import type { StreamExecutionEnvironment } from './environment.js';
import { ProgramDefinitionError } from './errors.js';
import {
  byReducer,
  checkFieldOrSelector,
  COMBINERS,
  fieldReducer,
  keyedSelectorAggregate,
  larger,
  smaller,
  type KeyedValue,
  type NumericField,
} from './field-aggregations.js';
import type {
  AggregateFunction,
  AllWindowFunction,
  Collector,
  Evictor,
  Key,
  Millis,
  OutputTag,
  ProcessAllWindowFunction,
  ProcessWindowContext,
  ProcessWindowFunction,
  ReduceFunction,
  RuntimeContext,
  TimeWindow,
  Trigger,
  WindowFunction,
} from './functions.js';
import type { NodeFunctions, NodeSpec, WindowAssignerSpec } from '@freshet/graph';
import type { KeyedStream } from './keyed.js';
import { describeAssigner, isEventTimeAssigner } from './windows/assigners.js';
import { checkEvictor, describeEvictor } from './windows/evictors.js';
import { checkTrigger, defaultTrigger, describeTrigger } from './windows/triggers.js';

/** Settings of a window before its function is given. */
export interface WindowSettings {
  /** Custom trigger; the assigner's default when absent. */
  readonly trigger?: Trigger<never>;
  /** How long after the watermark passed a window's end its late elements still update it. @default 0 */
  readonly allowedLatenessMs: number;
  /** Side output for elements too late for their windows. */
  readonly lateTag?: OutputTag<unknown>;
  /** Evicts elements before/after the window function; the window then buffers every element. */
  readonly evictor?: Evictor<never>;
}

type WindowFunctionKind = 'reduce' | 'aggregate' | 'process';

/** Everything needed to create a window node (internal to the API). */
interface WindowNodeRequest {
  env: StreamExecutionEnvironment;
  input: InputSpec;
  assigner: WindowAssignerSpec;
  settings: WindowSettings;
  keyed: boolean;
  function: WindowFunctionKind;
  fns: NodeFunctions;
  withProcess: boolean;
}

const FUNCTION_NAMES: Record<WindowFunctionKind, string> = {
  reduce: 'Reduce',
  aggregate: 'Aggregate',
  process: 'Process',
};

/** Checks window settings against the assigner (internal to the API). */
export function checkWindowTrigger(
  what: string,
  assigner: WindowAssignerSpec,
  trigger: Trigger<never> | undefined,
): void {
  if (trigger === undefined) return;
  if (assigner.type === 'session' && trigger.canMerge?.() !== true) {
    throw new ProgramDefinitionError(
      `${what}: ${describeTrigger(trigger)} cannot be used with ${describeAssigner(assigner)}: session windows merge, and this trigger does not support merging (canMerge() must return true)`,
    );
  }
}

/** Returns settings with allowed lateness, refusing it where it means nothing (internal to the API). */
export function withAllowedLateness<S extends { allowedLatenessMs: number }>(
  assigner: WindowAssignerSpec,
  settings: S,
  ms: Millis,
): S {
  checkNonNegativeInt('allowedLateness', ms);
  if (ms > 0 && !isEventTimeAssigner(assigner)) {
    throw new ProgramDefinitionError(
      `allowedLateness applies only to event-time windows (got ${describeAssigner(assigner)}): remove it, or use an event-time assigner`,
    );
  }
  return { ...settings, allowedLatenessMs: ms };
}

/** Creates the node of a window operator (internal to the API). */
function addWindowNode<R>(req: WindowNodeRequest): SingleOutputStreamOperator<R> {
  const { assigner, settings } = req;
  checkWindowTrigger('window', assigner, settings.trigger);
  const trigger = settings.trigger ?? defaultTrigger(assigner);
  const functionName = FUNCTION_NAMES[req.function] + (req.withProcess ? ', Process' : '');
  const triggerName = settings.trigger ? `, ${describeTrigger(settings.trigger)}` : '';
  const evictorName = settings.evictor ? `, ${describeEvictor(settings.evictor)}` : '';
  const name = `${req.keyed ? 'Window' : 'WindowAll'}(${describeAssigner(assigner)}${triggerName}${evictorName}, ${functionName})`;
  const window: NonNullable<NodeSpec['window']> = {
    assigner: { ...assigner },
    keyed: req.keyed,
    function: req.function,
    withProcess: req.withProcess,
    allowedLatenessMs: settings.allowedLatenessMs,
    customTrigger: settings.trigger !== undefined,
  };
  if (settings.lateTag) window.lateTag = settings.lateTag.id;
  if (settings.evictor) window.evictor = true;
  const stream = addOperator<R>(
    req.env,
    {
      kind: 'window',
      name,
      inputs: 1,
      keyed: req.keyed,
      spec: { window },
      fns: settings.evictor ? { ...req.fns, trigger, evictor: settings.evictor } : { ...req.fns, trigger },
      nonParallel: !req.keyed,
    },
    [req.input],
  );
  if (settings.lateTag) req.env.builder.registerTag(settings.lateTag, name);
  return stream;
}

function checkLateTag(tag: unknown): OutputTag<unknown> {
  if (typeof tag !== 'object' || tag === null || typeof (tag as { id?: unknown }).id !== 'string') {
    throw new ProgramDefinitionError(`sideOutputLateData expects an OutputTag (got ${describeValue(tag)})`);
  }
  return tag as OutputTag<unknown>;
}

function checkAggregate(fn: unknown): void {
  checkMethods('aggregate', fn, ['createAccumulator', 'add', 'getResult', 'merge'], 'an AggregateFunction');
}

function checkProcessWindow(what: string, fn: unknown): void {
  checkMethods(what, fn, ['process'], 'a ProcessWindowFunction');
}

/** A keyed stream cut into windows per key. */
export class WindowedStream<T, K extends Key> {
  constructor(
    /** The keyed input. */
    readonly keyed: KeyedStream<T, K>,
    /** How elements map to windows. */
    readonly assigner: WindowAssignerSpec,
    /** Trigger, lateness and late-data output. */
    readonly settings: WindowSettings = { allowedLatenessMs: 0 },
  ) {}

  /** Replaces the assigner's default trigger (decides when windows fire and purge). */
  trigger(trigger: Trigger<T>): WindowedStream<T, K> {
    checkTrigger('trigger', trigger);
    checkWindowTrigger('trigger', this.assigner, trigger);
    return new WindowedStream<T, K>(this.keyed, this.assigner, { ...this.settings, trigger });
  }

  /**
   * Keeps windows for `ms` after the watermark passed their end, re-firing on late elements.
   * Event-time windows only.
   * @default 0
   */
  allowedLateness(ms: Millis): WindowedStream<T, K> {
    return new WindowedStream<T, K>(
      this.keyed,
      this.assigner,
      withAllowedLateness(this.assigner, this.settings, ms),
    );
  }

  /** Sends elements too late for their windows to side output `tag` (read it with `getSideOutput(tag)` on the result). */
  sideOutputLateData(tag: OutputTag<T>): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.keyed, this.assigner, {
      ...this.settings,
      lateTag: checkLateTag(tag),
    });
  }

  /**
   * Evicts elements before and/or after the window function (see
   * `CountEvictor`, `TimeEvictor`, `DeltaEvictor`). The window then keeps
   * every element and reduces or aggregates them when it fires, as in Flink.
   */
  evictor(evictor: Evictor<T>): WindowedStream<T, K> {
    checkEvictor('evictor', evictor);
    return new WindowedStream<T, K>(this.keyed, this.assigner, { ...this.settings, evictor });
  }

  /** Sum of a numeric field per window: the window's first record with the field replaced by the sum. */
  sum(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Sum of `selector(record)` per window, as `{ key, value }`. */
  sum(selector: (value: T) => number): SingleOutputStreamOperator<KeyedValue<K, number>>;
  sum(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    return this.#fieldOrSelector('sum', by);
  }

  /** Minimum of a numeric field per window: the window's first record with the field replaced by the minimum. */
  min(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Minimum of `selector(record)` per window, as `{ key, value }`. */
  min(selector: (value: T) => number): SingleOutputStreamOperator<KeyedValue<K, number>>;
  min(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    return this.#fieldOrSelector('min', by);
  }

  /** Maximum of a numeric field per window: the window's first record with the field replaced by the maximum. */
  max(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Maximum of `selector(record)` per window, as `{ key, value }`. */
  max(selector: (value: T) => number): SingleOutputStreamOperator<KeyedValue<K, number>>;
  max(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    return this.#fieldOrSelector('max', by);
  }

  /** The record with the smallest field (or selector) value per window (the earlier one on ties). */
  minBy(by: NumericField<T> | ((value: T) => number)): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(checkFieldOrSelector<T>('minBy', by), smaller));
  }

  /** The record with the largest field (or selector) value per window (the earlier one on ties). */
  maxBy(by: NumericField<T> | ((value: T) => number)): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(checkFieldOrSelector<T>('maxBy', by), larger));
  }

  /** Flink's `apply(WindowFunction)`: the key, the window and all its elements. */
  apply<R>(fn: WindowFunction<T, R, K>): SingleOutputStreamOperator<R> {
    checkUserFunction('apply', fn, 'apply');
    return this.process<R>(new ApplyWindowFunction<T, R, K>(fn));
  }

  #fieldOrSelector(
    what: 'sum' | 'min' | 'max',
    by: string | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    const checked = checkFieldOrSelector<T>(what, by);
    if (typeof checked === 'string') return this.reduce(fieldReducer<T>(checked, COMBINERS[what]));
    return this.aggregate(keyedSelectorAggregate(this.keyed.keySelector, checked, COMBINERS[what]));
  }

  /** Reduces each window incrementally; emits the result when it fires. */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T>;
  /** Reduces each window incrementally, then passes the result to `windowFn` with the key and window. */
  reduce<R>(fn: ReduceFunction<T>, windowFn: ProcessWindowFunction<T, R, K>): SingleOutputStreamOperator<R>;
  reduce<R>(
    fn: ReduceFunction<T>,
    windowFn?: ProcessWindowFunction<T, R, K>,
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<R> {
    checkUserFunction('reduce', fn, 'reduce');
    if (windowFn !== undefined) checkProcessWindow('reduce', windowFn);
    return this.#node<R>('reduce', { reduce: fn }, windowFn);
  }

  /** Aggregates each window incrementally; emits `getResult` when it fires. */
  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  /** Aggregates each window incrementally, then passes the result to `windowFn` with the key and window. */
  aggregate<ACC, V, R>(
    fn: AggregateFunction<T, ACC, V>,
    windowFn: ProcessWindowFunction<V, R, K>,
  ): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(
    fn: AggregateFunction<T, ACC, V>,
    windowFn?: ProcessWindowFunction<V, R, K>,
  ): SingleOutputStreamOperator<V> | SingleOutputStreamOperator<R> {
    checkAggregate(fn);
    if (windowFn !== undefined) checkProcessWindow('aggregate', windowFn);
    return this.#node<R>('aggregate', { aggregate: fn }, windowFn);
  }

  /** Buffers each window's elements and passes them all to `fn` when it fires. */
  process<R>(fn: ProcessWindowFunction<T, R, K>): SingleOutputStreamOperator<R> {
    checkProcessWindow('process', fn);
    return this.#node('process', { windowProcess: fn }, undefined);
  }

  #node<R>(kind: WindowFunctionKind, fns: NodeFunctions, windowFn: unknown): SingleOutputStreamOperator<R> {
    return addWindowNode<R>({
      env: this.keyed.env,
      input: this.keyed.input(),
      assigner: this.assigner,
      settings: this.settings,
      keyed: true,
      function: kind,
      fns: {
        ...fns,
        key: this.keyed.keySelector,
        ...(windowFn === undefined ? {} : { windowProcess: windowFn }),
      },
      withProcess: kind !== 'process' && windowFn !== undefined,
    });
  }
}

/** A non-keyed stream cut into windows; runs as a single instance. */
export class AllWindowedStream<T> {
  constructor(
    /** The environment of the input. */
    readonly env: StreamExecutionEnvironment,
    /** The input's producers (internal to the API). */
    readonly producers: readonly Producer[],
    /** How elements map to windows. */
    readonly assigner: WindowAssignerSpec,
    /** Trigger, lateness and late-data output. */
    readonly settings: WindowSettings = { allowedLatenessMs: 0 },
  ) {}

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<T>): AllWindowedStream<T> {
    checkTrigger('trigger', trigger);
    checkWindowTrigger('trigger', this.assigner, trigger);
    return new AllWindowedStream<T>(this.env, this.producers, this.assigner, { ...this.settings, trigger });
  }

  /**
   * Keeps windows for `ms` after the watermark passed their end. Event-time windows only.
   * @default 0
   */
  allowedLateness(ms: Millis): AllWindowedStream<T> {
    return new AllWindowedStream<T>(
      this.env,
      this.producers,
      this.assigner,
      withAllowedLateness(this.assigner, this.settings, ms),
    );
  }

  /** Sends elements too late for their windows to side output `tag`. */
  sideOutputLateData(tag: OutputTag<T>): AllWindowedStream<T> {
    return new AllWindowedStream<T>(this.env, this.producers, this.assigner, {
      ...this.settings,
      lateTag: checkLateTag(tag),
    });
  }

  /** Evicts elements before and/or after the window function (see {@link WindowedStream.evictor}). */
  evictor(evictor: Evictor<T>): AllWindowedStream<T> {
    checkEvictor('evictor', evictor);
    return new AllWindowedStream<T>(this.env, this.producers, this.assigner, { ...this.settings, evictor });
  }

  /** Sum of a numeric field per window: the window's first record with the field replaced by the sum. */
  sum(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Sum of `selector(record)` per window. */
  sum(selector: (value: T) => number): SingleOutputStreamOperator<number>;
  sum(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<number> {
    return this.#fieldOrSelector('sum', by);
  }

  /** Minimum of a numeric field per window: the window's first record with the field replaced by the minimum. */
  min(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Minimum of `selector(record)` per window. */
  min(selector: (value: T) => number): SingleOutputStreamOperator<number>;
  min(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<number> {
    return this.#fieldOrSelector('min', by);
  }

  /** Maximum of a numeric field per window: the window's first record with the field replaced by the maximum. */
  max(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Maximum of `selector(record)` per window. */
  max(selector: (value: T) => number): SingleOutputStreamOperator<number>;
  max(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<number> {
    return this.#fieldOrSelector('max', by);
  }

  /** The record with the smallest field (or selector) value per window (the earlier one on ties). */
  minBy(by: NumericField<T> | ((value: T) => number)): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(checkFieldOrSelector<T>('minBy', by), smaller));
  }

  /** The record with the largest field (or selector) value per window (the earlier one on ties). */
  maxBy(by: NumericField<T> | ((value: T) => number)): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(checkFieldOrSelector<T>('maxBy', by), larger));
  }

  /** Flink's `apply(AllWindowFunction)`: the window and all its elements. */
  apply<R>(fn: AllWindowFunction<T, R>): SingleOutputStreamOperator<R> {
    checkUserFunction('apply', fn, 'apply');
    return this.process<R>(new ApplyAllWindowFunction<T, R>(fn));
  }

  #fieldOrSelector(
    what: 'sum' | 'min' | 'max',
    by: string | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<number> {
    const checked = checkFieldOrSelector<T>(what, by);
    if (typeof checked === 'string') return this.reduce(fieldReducer<T>(checked, COMBINERS[what]));
    const combiner = COMBINERS[what];
    return this.aggregate<number, number>({
      createAccumulator: () => combiner.initial,
      add: (value, acc) => combiner.combine(acc, checked(value)),
      getResult: (acc) => acc,
      merge: (a, b) => combiner.combine(a, b),
    });
  }

  /** Reduces each window incrementally. */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T>;
  /** Reduces each window incrementally, then passes the result to `windowFn`. */
  reduce<R>(fn: ReduceFunction<T>, windowFn: ProcessAllWindowFunction<T, R>): SingleOutputStreamOperator<R>;
  reduce<R>(
    fn: ReduceFunction<T>,
    windowFn?: ProcessAllWindowFunction<T, R>,
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<R> {
    checkUserFunction('reduce', fn, 'reduce');
    if (windowFn !== undefined) checkProcessWindow('reduce', windowFn);
    return this.#node<R>('reduce', { reduce: fn }, windowFn);
  }

  /** Aggregates each window incrementally. */
  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  /** Aggregates each window incrementally, then passes the result to `windowFn`. */
  aggregate<ACC, V, R>(
    fn: AggregateFunction<T, ACC, V>,
    windowFn: ProcessAllWindowFunction<V, R>,
  ): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(
    fn: AggregateFunction<T, ACC, V>,
    windowFn?: ProcessAllWindowFunction<V, R>,
  ): SingleOutputStreamOperator<V> | SingleOutputStreamOperator<R> {
    checkAggregate(fn);
    if (windowFn !== undefined) checkProcessWindow('aggregate', windowFn);
    return this.#node<R>('aggregate', { aggregate: fn }, windowFn);
  }

  /** Buffers each window's elements and passes them all to `fn` when it fires. */
  process<R>(fn: ProcessAllWindowFunction<T, R>): SingleOutputStreamOperator<R> {
    checkProcessWindow('process', fn);
    return this.#node('process', { windowProcess: fn }, undefined);
  }

  #node<R>(kind: WindowFunctionKind, fns: NodeFunctions, windowFn: unknown): SingleOutputStreamOperator<R> {
    return addWindowNode<R>({
      env: this.env,
      input: { producers: this.producers },
      assigner: this.assigner,
      settings: this.settings,
      keyed: false,
      function: kind,
      fns: { ...fns, ...(windowFn === undefined ? {} : { windowProcess: windowFn }) },
      withProcess: kind !== 'process' && windowFn !== undefined,
    });
  }
}

/** Runs a {@link WindowFunction} as a process window function, passing the lifecycle hooks on. */
class ApplyWindowFunction<IN, OUT, K extends Key> implements ProcessWindowFunction<IN, OUT, K> {
  readonly #apply: (key: K, window: TimeWindow, elements: readonly IN[], out: Collector<OUT>) => void;
  constructor(private readonly fn: WindowFunction<IN, OUT, K>) {
    this.#apply = typeof fn === 'function' ? fn : fn.apply.bind(fn);
  }
  setRuntimeContext(ctx: RuntimeContext): void {
    if (typeof this.fn !== 'function') this.fn.setRuntimeContext?.(ctx);
  }
  open(ctx: RuntimeContext): void {
    if (typeof this.fn !== 'function') this.fn.open?.(ctx);
  }
  close(): void {
    if (typeof this.fn !== 'function') this.fn.close?.();
  }
  process(key: K, ctx: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>): void {
    this.#apply(key, ctx.window(), elements, out);
  }
}

/** Runs an {@link AllWindowFunction} as a process all-window function, passing the lifecycle hooks on. */
class ApplyAllWindowFunction<IN, OUT> implements ProcessAllWindowFunction<IN, OUT> {
  readonly #apply: (window: TimeWindow, elements: readonly IN[], out: Collector<OUT>) => void;
  constructor(private readonly fn: AllWindowFunction<IN, OUT>) {
    this.#apply = typeof fn === 'function' ? fn : fn.apply.bind(fn);
  }
  setRuntimeContext(ctx: RuntimeContext): void {
    if (typeof this.fn !== 'function') this.fn.setRuntimeContext?.(ctx);
  }
  open(ctx: RuntimeContext): void {
    if (typeof this.fn !== 'function') this.fn.open?.(ctx);
  }
  close(): void {
    if (typeof this.fn !== 'function') this.fn.close?.();
  }
  process(ctx: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>): void {
    this.#apply(ctx.window(), elements, out);
  }
}
