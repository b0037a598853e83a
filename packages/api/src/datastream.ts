/**
 * DataStream, the operators that return one (SingleOutputStreamOperator) and
 * sinks (DataStreamSink). A DataStream is a handle on one or more outputs of
 * StreamGraph nodes; operator methods append nodes and edges and return the
 * new node's stream. Record types flow through the generics, so a function
 * of the wrong record type does not compile.
 */
import type { InputSpec, NodeInit, Producer } from './builder.js';
import { checkMethods, checkPositiveInt, checkUserFunction, describeValue } from './check.js';
import {
  BroadcastConnectedStream,
  BroadcastStream,
  ConnectedStreams,
  type AnyMapStateDescriptor,
} from './connected.js';
import type { StreamExecutionEnvironment } from './environment.js';
import { ProgramDefinitionError } from './errors.js';
import type {
  FilterFunction,
  FlatMapFunction,
  Key,
  KeySelector,
  MapFunction,
  OutputTag,
  PartitionerLike,
  ProcessFunction,
} from './functions.js';
import { JoinedStreams } from './joins.js';
import { KeyedStream } from './keyed.js';
import { Sinks, type Sink } from './sinks.js';
import type { ConnectorSink } from './connector/sink.js';
import { checkConnectorDescription } from './connector/check.js';
import type { WatermarkStrategy } from './watermarks.js';
import { AllWindowedStream } from './windowed.js';
import { checkAssigner, GlobalWindows } from './windows/assigners.js';
import { CountEvictor } from './windows/evictors.js';
import { CountTrigger, PurgingTrigger } from './windows/triggers.js';
import type { NodeFunctions, NodeKind, NodeSpec, Partitioning, WindowAssignerSpec } from '@freshet/graph';

/** The message a program gets when it calls `window` on a non-keyed stream. */
export type WindowNeedsKeyBy =
  'window() needs a keyed stream: call keyBy(...) first, or use windowAll(...) for a window over the whole stream';

/** A stream of records of type `T`. */
export class DataStream<T> {
  /** Phantom field carrying the record type; never set. */
  declare readonly __type?: (value: T) => T;

  constructor(
    /** The environment this stream belongs to. */
    readonly env: StreamExecutionEnvironment,
    /** The node outputs feeding this stream (internal to the API). */
    readonly producers: readonly Producer[],
  ) {}

  /** The environment this stream belongs to. */
  getExecutionEnvironment(): StreamExecutionEnvironment {
    return this.env;
  }

  // ---------------------------------------------------------- transformations

  /** Applies `fn` to every record. */
  map<R>(fn: MapFunction<T, R>): SingleOutputStreamOperator<R> {
    checkUserFunction('map', fn, 'map');
    return this.#oneInput<R>('map', 'Map', { fn });
  }

  /** Applies `fn` to every record; it emits zero or more records through its collector. */
  flatMap<R>(fn: FlatMapFunction<T, R>): SingleOutputStreamOperator<R> {
    checkUserFunction('flatMap', fn, 'flatMap');
    return this.#oneInput<R>('flatMap', 'FlatMap', { fn });
  }

  /** Keeps the records for which `fn` returns true. */
  filter(fn: FilterFunction<T>): SingleOutputStreamOperator<T> {
    checkUserFunction('filter', fn, 'filter');
    return this.#oneInput<T>('filter', 'Filter', { fn });
  }

  /**
   * Low-level processing with side outputs. Give the output type when it
   * cannot be inferred: `process<string>({ processElement(v, ctx, out) { ... } })`.
   */
  process<R>(fn: ProcessFunction<T, R>): SingleOutputStreamOperator<R> {
    checkMethods('process', fn, ['processElement'], 'a ProcessFunction');
    return this.#oneInput<R>('process', 'Process', { fn });
  }

  /**
   * Assigns event timestamps and generates watermarks (see {@link WatermarkStrategy}).
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    const s = strategy as Partial<WatermarkStrategy<T>> | null;
    if (typeof s !== 'object' || s === null || typeof s.spec !== 'object') {
      throw new ProgramDefinitionError(
        `assignTimestampsAndWatermarks expects a WatermarkStrategy such as WatermarkStrategy.forBoundedOutOfOrderness(ms) (got ${describeValue(strategy)})`,
      );
    }
    const fns: NodeFunctions = {};
    if (strategy.timestampAssigner) fns.timestampAssigner = strategy.timestampAssigner;
    if (strategy.generatorSupplier) fns.watermarkGenerator = strategy.generatorSupplier;
    return this.#oneInput<T>('timestamps', 'Timestamps/Watermarks', fns, {
      watermarks: { ...strategy.spec },
    });
  }

  /**
   * Partitions the stream by key: the next operator gets the records of a key
   * in one parallel instance, with keyed state and timers. The selector must
   * be pure and return a string or number.
   */
  keyBy<K extends Key>(selector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof selector !== 'function') {
      throw new ProgramDefinitionError(
        `keyBy expects a function returning a string or number (got ${describeValue(selector)})`,
      );
    }
    return new KeyedStream<T, K>(this.env, this.producers, selector);
  }

  /** Merges streams of the same type (creates no operator). */
  union(...others: DataStream<T>[]): DataStream<T> {
    const producers = [...this.producers];
    for (const other of others) {
      this.checkSameEnv('union', other);
      producers.push(...other.producers);
    }
    return new DataStream<T>(this.env, producers);
  }

  /** Connects with a broadcast stream: process with a BroadcastProcessFunction. */
  connect<T2>(other: BroadcastStream<T2>): BroadcastConnectedStream<T, T2>;
  /** Connects with another stream for a two-input operator (co-map, co-flatMap, co-process). */
  connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2>;
  connect<T2>(
    other: DataStream<T2> | BroadcastStream<T2>,
  ): ConnectedStreams<T, T2> | BroadcastConnectedStream<T, T2> {
    if (other instanceof BroadcastStream) {
      this.checkSameEnv('connect', other);
      return new BroadcastConnectedStream<T, T2>(this.env, this.producers, other);
    }
    this.checkSameEnv('connect', other);
    return new ConnectedStreams<T, T2>(this.env, this.producers, other.producers);
  }

  /** Sends every record to every parallel instance of the next operator. */
  broadcast(): DataStream<T>;
  /** A broadcast stream carrying broadcast state, for `connect(...).process(BroadcastProcessFunction)`. */
  broadcast(...descriptors: [AnyMapStateDescriptor, ...AnyMapStateDescriptor[]]): BroadcastStream<T>;
  broadcast(...descriptors: AnyMapStateDescriptor[]): DataStream<T> | BroadcastStream<T> {
    const producers = this.#partitioned('BROADCAST');
    if (descriptors.length === 0) return new DataStream<T>(this.env, producers);
    const names = new Set<string>();
    for (const d of descriptors) {
      if (typeof d !== 'object' || d === null || (d as { kind?: unknown }).kind !== 'map') {
        throw new ProgramDefinitionError(`broadcast expects MapStateDescriptors (got ${describeValue(d)})`);
      }
      if (names.has(d.name)) {
        throw new ProgramDefinitionError(
          `broadcast got two state descriptors named '${d.name}': give each broadcast state its own name`,
        );
      }
      names.add(d.name);
    }
    return new BroadcastStream<T>(this.env, producers, descriptors);
  }

  /** Distributes records round-robin over all instances of the next operator. */
  rebalance(): DataStream<T> {
    return new DataStream<T>(this.env, this.#partitioned('REBALANCE'));
  }

  /** Distributes records round-robin over a subset of the next operator's instances (local exchange). */
  rescale(): DataStream<T> {
    return new DataStream<T>(this.env, this.#partitioned('RESCALE'));
  }

  /** Sends every record to a uniformly random instance of the next operator (Flink's `shuffle`). */
  shuffle(): DataStream<T> {
    return new DataStream<T>(this.env, this.#partitioned('SHUFFLE'));
  }

  /** Sends every record to the first instance (subtask 0) of the next operator (Flink's `global`). */
  global(): DataStream<T> {
    return new DataStream<T>(this.env, this.#partitioned('GLOBAL'));
  }

  /**
   * Sends each record to the instance of the next operator that `partitioner`
   * picks for the record's key (Flink's `partitionCustom`). Unlike `keyBy`
   * the next operator is not keyed (no keyed state); the key may be any value
   * the partitioner understands. A partitioner that returns anything but an
   * integer in `[0, numPartitions)` fails the job.
   */
  partitionCustom<K>(partitioner: PartitionerLike<K>, keySelector: (value: T) => K): DataStream<T> {
    checkUserFunction('partitionCustom', partitioner, 'partition');
    if (typeof keySelector !== 'function') {
      throw new ProgramDefinitionError(
        `partitionCustom expects a key selector function as its second argument (got ${describeValue(keySelector)})`,
      );
    }
    const partition =
      typeof partitioner === 'function'
        ? partitioner
        : (key: K, numPartitions: number): number => partitioner.partition(key, numPartitions);
    const customPartitioner = {
      key: keySelector as (value: never) => unknown,
      partition: partition as (key: never, numPartitions: number) => number,
    };
    return new DataStream<T>(
      this.env,
      this.producers.map((p) => ({ ...p, partitioning: 'CUSTOM' as const, customPartitioner })),
    );
  }

  /** Sends records to the instance of the same index (needs equal parallelism; lets the operators chain). */
  forward(): DataStream<T> {
    return new DataStream<T>(this.env, this.#partitioned('FORWARD'));
  }

  /** Windows over the whole (non-keyed) stream; runs as a single instance. */
  windowAll(assigner: WindowAssignerSpec): AllWindowedStream<T> {
    return new AllWindowedStream<T>(this.env, this.producers, checkAssigner('windowAll', assigner));
  }

  /**
   * Count windows over the whole (non-keyed) stream, as a single instance
   * (Flink's `countWindowAll`): see {@link KeyedStream.countWindow}.
   */
  countWindowAll(size: number, slide?: number): AllWindowedStream<T> {
    const count = checkPositiveInt('countWindowAll size', size);
    const global = new AllWindowedStream<T>(this.env, this.producers, GlobalWindows.create());
    if (slide === undefined) return global.trigger(PurgingTrigger.of(CountTrigger.of(count)));
    return global
      .evictor(CountEvictor.of(count))
      .trigger(CountTrigger.of(checkPositiveInt('countWindowAll slide', slide)));
  }

  /**
   * Not available on a non-keyed stream: key it first (`keyBy(...).window(...)`)
   * or use {@link DataStream.windowAll}. Present so JavaScript programs get a clear error.
   */
  window(_assigner: WindowNeedsKeyBy): never {
    throw new ProgramDefinitionError(
      'window() needs a keyed stream: call keyBy(...) first, or use windowAll(...) for a window over the whole stream',
    );
  }

  /**
   * Starts a window coGroup (Flink's `coGroup`): `coGroup(other).where(k1).equalTo(k2).window(assigner).apply(fn)`
   * calls `fn(first, second, out)` once per key and window with the records of both streams.
   */
  coGroup<T2>(other: DataStream<T2>): JoinedStreams<T, T2, 'coGroup'> {
    this.checkSameEnv('coGroup', other);
    return new JoinedStreams<T, T2, 'coGroup'>(this.env, this.producers, other.producers, 'coGroup');
  }

  /** Starts a window join: `join(other).where(k1).equalTo(k2).window(assigner).apply(fn)`. */
  join<T2>(other: DataStream<T2>): JoinedStreams<T, T2> {
    this.checkSameEnv('join', other);
    return new JoinedStreams<T, T2>(this.env, this.producers, other.producers);
  }

  // ---------------------------------------------------------- sinks

  /**
   * Prints every record to standard output. At-least-once: after a restart
   * from a checkpoint, the records since that checkpoint are printed again.
   * @param prefix text before each record; none by default
   */
  print(prefix?: string): DataStreamSink<T> {
    return this.sinkTo(Sinks.print<T>(prefix));
  }

  /** Prints every record to standard error (at-least-once, as {@link print}). */
  printToErr(prefix?: string): DataStreamSink<T> {
    return this.sinkTo(Sinks.printToErr<T>(prefix));
  }

  /**
   * Collects the records; a run returns them to its caller under `id`.
   * At-least-once: after a restart from a checkpoint, the records since that
   * checkpoint are collected again.
   */
  collect(id: string): DataStreamSink<T> {
    return this.sinkTo(Sinks.collect<T>(id));
  }

  /**
   * Writes every record as a line of JSON into the directory `path`,
   * exactly once: committed part files `part-<subtask>-<counter>.jsonl`
   * appear as the checkpoints covering them complete (see `Sinks.jsonLines`).
   */
  writeAsJsonLines(path: string): DataStreamSink<T> {
    return this.sinkTo(Sinks.jsonLines<T>(path));
  }

  /**
   * Writes every record as a line of text (strings as they are, other values
   * as JSON) into the directory `path`, exactly once, as part files
   * `part-<subtask>-<counter>.txt` (see `Sinks.text`).
   */
  writeAsText(path: string): DataStreamSink<T> {
    return this.sinkTo(Sinks.text<T>(path));
  }

  /** Drops every record (benchmarks). */
  discard(): DataStreamSink<T> {
    return this.sinkTo(Sinks.discard<T>());
  }

  /**
   * Writes the stream to `sink`: a built-in one ({@link Sinks}) or a
   * connector sink of the writer/committer framework (`FileSink`,
   * `KafkaSink`, `PostgresSink` from `@freshet/connectors`, or your own
   * {@link ConnectorSink}).
   */
  sinkTo<CommT, WriterState>(sink: Sink<T> | ConnectorSink<T, CommT, WriterState>): DataStreamSink<T> {
    const s = sink as Partial<Sink<T> & ConnectorSink<T, CommT, WriterState>> | null;
    if (typeof s === 'object' && s !== null && typeof s.createWriter === 'function') {
      const description = checkConnectorDescription('sinkTo', s.description);
      const guarantee = s.guarantee;
      if (guarantee !== 'none' && guarantee !== 'at-least-once' && guarantee !== 'exactly-once') {
        throw new ProgramDefinitionError(
          `sinkTo: the sink's guarantee must be 'none', 'at-least-once' or 'exactly-once' (got ${describeValue(guarantee)})`,
        );
      }
      const name = typeof s.name === 'string' && s.name !== '' ? s.name : `Sink: ${description.connector}`;
      const node = this.env.builder.addNode(
        {
          kind: 'sink',
          name,
          inputs: 1,
          keyed: false,
          spec: { sink: { type: 'connector', connector: description.connector, description, guarantee } },
          fns: { sink },
        },
        [{ producers: this.producers }],
      );
      return new DataStreamSink<T>(this.env, node.id);
    }
    if (typeof s !== 'object' || s === null || typeof s.spec !== 'object' || typeof s.name !== 'string') {
      throw new ProgramDefinitionError(
        `sinkTo expects a sink such as Sinks.print() or a connector sink (got ${describeValue(sink)})`,
      );
    }
    const node = this.env.builder.addNode(
      { kind: 'sink', name: s.name, inputs: 1, keyed: false, spec: { sink: { ...s.spec } } },
      [{ producers: this.producers }],
    );
    return new DataStreamSink<T>(this.env, node.id);
  }

  // ---------------------------------------------------------- internals

  /** Throws unless `other` was built on this stream's environment. */
  protected checkSameEnv(what: string, other: { env: StreamExecutionEnvironment } | null | undefined): void {
    if (typeof other !== 'object' || other === null || !('env' in other)) {
      throw new ProgramDefinitionError(`${what} expects a stream (got ${describeValue(other)})`);
    }
    if (other.env !== this.env) {
      throw new ProgramDefinitionError(
        `${what} expects streams of the same environment: use the env the program was given for every source`,
      );
    }
  }

  #partitioned(partitioning: Partitioning): Producer[] {
    return this.producers.map(({ customPartitioner: _custom, ...p }) => ({ ...p, partitioning }));
  }

  #oneInput<R>(
    kind: NodeKind,
    name: string,
    fns: NodeFunctions,
    spec: NodeSpec = {},
  ): SingleOutputStreamOperator<R> {
    return addOperator<R>(this.env, { kind, name, inputs: 1, keyed: false, spec, fns }, [
      { producers: this.producers },
    ]);
  }
}

/** Appends an operator node and returns its output stream (internal to the API). */
export function addOperator<R>(
  env: StreamExecutionEnvironment,
  init: NodeInit,
  inputs: readonly InputSpec[],
): SingleOutputStreamOperator<R> {
  const node = env.builder.addNode(init, inputs);
  return new SingleOutputStreamOperator<R>(env, [{ nodeId: node.id }], node.id);
}

/** The stream an operator produces, with the operator's settings. */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  constructor(
    env: StreamExecutionEnvironment,
    producers: readonly Producer[],
    /** Id of the operator's StreamGraph node. */
    readonly nodeId: number,
  ) {
    super(env, producers);
  }

  /** Display name of the operator (dashboard, logs, errors). */
  name(name: string): this {
    this.env.builder.setName(this.nodeId, name);
    return this;
  }

  /** Stable id that matches the operator's state across savepoints; must be unique in the job. */
  uid(uid: string): this {
    this.env.builder.setUid(this.nodeId, uid);
    return this;
  }

  /** Number of parallel instances of this operator (default: the job's parallelism). */
  setParallelism(parallelism: number): this {
    this.env.builder.setParallelism(this.nodeId, parallelism);
    return this;
  }

  /** Number of key groups of this operator (default: the job's maxParallelism). */
  setMaxParallelism(maxParallelism: number): this {
    this.env.builder.setMaxParallelism(this.nodeId, maxParallelism);
    return this;
  }

  /** Starts a new chain at this operator (it is not fused with its predecessor). */
  startNewChain(): this {
    this.env.builder.setChaining(this.nodeId, 'HEAD');
    return this;
  }

  /** Never fuses this operator with its neighbours. */
  disableChaining(): this {
    this.env.builder.setChaining(this.nodeId, 'NEVER');
    return this;
  }

  /** Puts the operator in a slot-sharing group; downstream operators inherit it. */
  slotSharingGroup(group: string): this {
    this.env.builder.setSlotSharingGroup(this.nodeId, group);
    return this;
  }

  /** The records this operator emitted to side output `tag` (process functions, late window data). */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    if (typeof tag !== 'object' || tag === null || typeof (tag as { id?: unknown }).id !== 'string') {
      throw new ProgramDefinitionError(`getSideOutput expects an OutputTag (got ${describeValue(tag)})`);
    }
    const builder = this.env.builder;
    builder.registerTag(tag, builder.node(this.nodeId).name);
    return new DataStream<X>(this.env, [{ nodeId: this.nodeId, sideOutput: tag.id }]);
  }
}

/** A sink, with the sink operator's settings. */
export class DataStreamSink<T> {
  /** Phantom field carrying the record type; never set. */
  declare readonly __type?: (value: T) => void;

  constructor(
    /** The environment the sink belongs to. */
    readonly env: StreamExecutionEnvironment,
    /** Id of the sink's StreamGraph node. */
    readonly nodeId: number,
  ) {}

  /** Display name of the sink. */
  name(name: string): this {
    this.env.builder.setName(this.nodeId, name);
    return this;
  }

  /** Stable id of the sink (state across savepoints); must be unique in the job. */
  uid(uid: string): this {
    this.env.builder.setUid(this.nodeId, uid);
    return this;
  }

  /** Number of parallel instances of the sink. */
  setParallelism(parallelism: number): this {
    this.env.builder.setParallelism(this.nodeId, parallelism);
    return this;
  }

  /** Number of key groups of the sink. */
  setMaxParallelism(maxParallelism: number): this {
    this.env.builder.setMaxParallelism(this.nodeId, maxParallelism);
    return this;
  }

  /** Starts a new chain at the sink. */
  startNewChain(): this {
    this.env.builder.setChaining(this.nodeId, 'HEAD');
    return this;
  }

  /** Never fuses the sink with its predecessor. */
  disableChaining(): this {
    this.env.builder.setChaining(this.nodeId, 'NEVER');
    return this;
  }

  /** Puts the sink in a slot-sharing group. */
  slotSharingGroup(group: string): this {
    this.env.builder.setSlotSharingGroup(this.nodeId, group);
    return this;
  }
}
