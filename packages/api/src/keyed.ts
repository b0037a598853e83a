/**
 * KeyedStream: a stream partitioned by key. It creates no node itself: the
 * next operator reads it over HASH edges, gets the key selector in
 * `fns.key` and is marked `keyed` (keyed state and timers).
 */
import type { InputSpec, NodeInit, Producer } from './builder.js';
import { checkMethods, checkPositiveInt, checkUserFunction, describeValue } from './check.js';
import { KeyedBroadcastConnectedStream, BroadcastStream, KeyedConnectedStreams } from './connected.js';
import { addOperator, type SingleOutputStreamOperator } from './datastream.js';
import type { StreamExecutionEnvironment } from './environment.js';
import { ProgramDefinitionError } from './errors.js';
import type {
  AggregateFunction,
  Key,
  KeyedProcessFunction,
  KeySelector,
  ReduceFunction,
} from './functions.js';
import type { NodeFunctions, NodeKind, NodeSpec, WindowAssignerSpec } from '@freshet/graph';
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
import { IntervalJoin } from './joins.js';
import { WindowedStream } from './windowed.js';
import { checkAssigner, GlobalWindows } from './windows/assigners.js';
import { CountEvictor } from './windows/evictors.js';
import { CountTrigger, PurgingTrigger } from './windows/triggers.js';

export type { KeyedValue, NumericField } from './field-aggregations.js';

/**
 * A stream partitioned by a key of type `K`.
 *
 * The rolling aggregations (`reduce`, `aggregate`, `sum`, `min`, `max`,
 * `minBy`, `maxBy`, `count`) emit the updated result for every record in
 * STREAMING mode; in BATCH mode they emit only the final result per key, at
 * the end of the input (as Flink does), stamped with the largest timestamp
 * of the key's records.
 */
export class KeyedStream<T, K extends Key> {
  /** Phantom field carrying the record and key types; never set. */
  declare readonly __type?: (value: T, key: K) => K;

  constructor(
    /** The environment this stream belongs to. */
    readonly env: StreamExecutionEnvironment,
    /** The node outputs feeding this stream (internal to the API). */
    readonly producers: readonly Producer[],
    /** Extracts the key of a record. */
    readonly keySelector: KeySelector<T, K>,
  ) {}

  /** Rolling reduce: emits the running result of combining each key's records (BATCH: the final result per key). */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T> {
    checkUserFunction('reduce', fn, 'reduce');
    return this.#keyed<T>('reduce', 'Keyed Reduce', { reduce: fn });
  }

  /** Rolling aggregate: emits the running result of each key's accumulator (BATCH: the final result per key). */
  aggregate<ACC, R>(fn: AggregateFunction<T, ACC, R>): SingleOutputStreamOperator<R> {
    checkAggregateFunction('aggregate', fn);
    return this.#keyed<R>('aggregate', 'Keyed Aggregate', { aggregate: fn });
  }

  /** Rolling sum of a numeric field: emits the key's first record with the field replaced by the running sum. */
  sum(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Rolling sum of `selector(record)` per key, as `{ key, value }`. */
  sum(selector: (value: T) => number): SingleOutputStreamOperator<KeyedValue<K, number>>;
  sum(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    return this.#fieldOrSelector('sum', by);
  }

  /** Rolling minimum of a numeric field: the key's first record with the field replaced by the minimum. */
  min(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Rolling minimum of `selector(record)` per key, as `{ key, value }`. */
  min(selector: (value: T) => number): SingleOutputStreamOperator<KeyedValue<K, number>>;
  min(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    return this.#fieldOrSelector('min', by);
  }

  /** Rolling maximum of a numeric field: the key's first record with the field replaced by the maximum. */
  max(field: NumericField<T>): SingleOutputStreamOperator<T>;
  /** Rolling maximum of `selector(record)` per key, as `{ key, value }`. */
  max(selector: (value: T) => number): SingleOutputStreamOperator<KeyedValue<K, number>>;
  max(
    by: NumericField<T> | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    return this.#fieldOrSelector('max', by);
  }

  /** Rolling: the record with the smallest field (or selector) value so far per key (the earlier one on ties). */
  minBy(by: NumericField<T> | ((value: T) => number)): SingleOutputStreamOperator<T> {
    return this.#by('minBy', by, smaller);
  }

  /** Rolling: the record with the largest field (or selector) value so far per key (the earlier one on ties). */
  maxBy(by: NumericField<T> | ((value: T) => number)): SingleOutputStreamOperator<T> {
    return this.#by('maxBy', by, larger);
  }

  /** Rolling count of records per key, as `{ key, value }`. */
  count(): SingleOutputStreamOperator<KeyedValue<K, number>> {
    const aggregate = keyedSelectorAggregate(this.keySelector, () => 1, COMBINERS.sum);
    return this.#keyed('aggregate', 'Keyed Aggregation', { aggregate });
  }

  /** Low-level processing per key, with keyed state and timers. */
  process<R>(fn: KeyedProcessFunction<K, T, R>): SingleOutputStreamOperator<R> {
    checkMethods('process', fn, ['processElement'], 'a KeyedProcessFunction');
    return this.#keyed<R>('keyedProcess', 'KeyedProcess', { fn });
  }

  /** Windows per key. */
  window(assigner: WindowAssignerSpec): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this, checkAssigner('window', assigner));
  }

  /**
   * Count windows per key (Flink's `countWindow`): with `size` alone, a
   * window fires and purges every `size` elements of a key (tumbling); with
   * `slide`, every `slide` elements it fires over the key's last `size`
   * elements (sliding). Global windows with a count trigger (and a count
   * evictor when sliding), so `trigger` and `evictor` may replace them.
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K> {
    const count = checkPositiveInt('countWindow size', size);
    const global = new WindowedStream<T, K>(this, GlobalWindows.create());
    if (slide === undefined) return global.trigger(PurgingTrigger.of(CountTrigger.of(count)));
    return global
      .evictor(CountEvictor.of(count))
      .trigger(CountTrigger.of(checkPositiveInt('countWindow slide', slide)));
  }

  /** Joins with another keyed stream on equal keys and timestamps within an interval: `.between(lower, upper).process(fn)`. */
  intervalJoin<T2>(other: KeyedStream<T2, K>): IntervalJoin<T, T2, K> {
    this.#checkKeyed('intervalJoin', other);
    return new IntervalJoin<T, T2, K>(this, other);
  }

  /** Connects with a broadcast stream: process with a KeyedBroadcastProcessFunction. */
  connect<T2>(other: BroadcastStream<T2>): KeyedBroadcastConnectedStream<T, T2, K>;
  /** Connects with another stream keyed the same way: process with a KeyedCoProcessFunction. */
  connect<T2>(other: KeyedStream<T2, K>): KeyedConnectedStreams<T, T2, K>;
  connect<T2>(
    other: KeyedStream<T2, K> | BroadcastStream<T2>,
  ): KeyedConnectedStreams<T, T2, K> | KeyedBroadcastConnectedStream<T, T2, K> {
    if (other instanceof BroadcastStream) {
      if (other.env !== this.env) throw sameEnvError('connect');
      return new KeyedBroadcastConnectedStream<T, T2, K>(this, other);
    }
    this.#checkKeyed('connect', other);
    return KeyedConnectedStreams.of(this, other);
  }

  /** The HASH input this keyed stream feeds into its consumer (internal to the API). */
  input(): InputSpec {
    return { producers: this.producers, partitioning: 'HASH' };
  }

  #checkKeyed(what: string, other: unknown): void {
    if (!(other instanceof KeyedStream)) {
      throw new ProgramDefinitionError(
        `${what} expects a KeyedStream (call keyBy on the other stream first; got ${describeValue(other)})`,
      );
    }
    if (other.env !== this.env) throw sameEnvError(what);
  }

  #keyed<R>(
    kind: NodeKind,
    name: string,
    fns: NodeFunctions,
    spec: NodeSpec = {},
    init: Partial<NodeInit> = {},
  ): SingleOutputStreamOperator<R> {
    return addOperator<R>(
      this.env,
      { kind, name, inputs: 1, keyed: true, spec, fns: { ...fns, key: this.keySelector }, ...init },
      [this.input()],
    );
  }

  #fieldOrSelector(
    what: 'sum' | 'min' | 'max',
    by: string | ((value: T) => number),
  ): SingleOutputStreamOperator<T> | SingleOutputStreamOperator<KeyedValue<K, number>> {
    const checked = checkFieldOrSelector<T>(what, by);
    if (typeof checked === 'string') {
      return this.#keyed<T>(
        'reduce',
        'Keyed Aggregation',
        { reduce: fieldReducer<T>(checked, COMBINERS[what]) },
        { field: checked },
      );
    }
    const aggregate = keyedSelectorAggregate(this.keySelector, checked, COMBINERS[what]);
    return this.#keyed<KeyedValue<K, number>>('aggregate', 'Keyed Aggregation', { aggregate });
  }

  #by(
    what: 'minBy' | 'maxBy',
    by: string | ((value: T) => number),
    better: (x: number, y: number) => boolean,
  ): SingleOutputStreamOperator<T> {
    const checked = checkFieldOrSelector<T>(what, by);
    const spec: NodeSpec = typeof checked === 'string' ? { field: checked } : {};
    return this.#keyed<T>('reduce', 'Keyed Aggregation', { reduce: byReducer(checked, better) }, spec);
  }
}

function sameEnvError(what: string): ProgramDefinitionError {
  return new ProgramDefinitionError(
    `${what} expects streams of the same environment: use the env the program was given for every source`,
  );
}

/** Throws unless `fn` has the four methods of an AggregateFunction. */
export function checkAggregateFunction(what: string, fn: unknown): void {
  checkMethods(what, fn, ['createAccumulator', 'add', 'getResult', 'merge'], 'an AggregateFunction');
}
