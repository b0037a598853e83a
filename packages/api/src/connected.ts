/**
 * Two-input streams: `connect` (co-map, co-flatMap, co-process, keyed or
 * not) and broadcast connections (`broadcast(descriptors)` + `connect`).
 * Input 0 is the stream `connect` was called on, input 1 the argument.
 */
import type { InputSpec, Producer } from './builder.js';
import { checkMethods } from './check.js';
import { addOperator, type SingleOutputStreamOperator } from './datastream.js';
import type { StreamExecutionEnvironment } from './environment.js';
import { ProgramDefinitionError } from './errors.js';
import type {
  BroadcastProcessFunction,
  CoFlatMapFunction,
  CoMapFunction,
  CoProcessFunction,
  Key,
  KeyedBroadcastProcessFunction,
  KeyedCoProcessFunction,
  KeySelector,
  MapStateDescriptor,
} from './functions.js';
import type { NodeFunctions, NodeKind } from '@freshet/graph';
import type { KeyedStream } from './keyed.js';

/** A broadcast state descriptor of any key and value type. */
export type AnyMapStateDescriptor = MapStateDescriptor<Key, unknown>;

function twoInput<R>(
  env: StreamExecutionEnvironment,
  kind: NodeKind,
  name: string,
  keyed: boolean,
  fns: NodeFunctions,
  first: InputSpec,
  second: InputSpec,
  broadcastStates?: readonly AnyMapStateDescriptor[],
): SingleOutputStreamOperator<R> {
  const spec = broadcastStates ? { broadcastStates: broadcastStates.map((d) => d.name) } : {};
  const allFns = broadcastStates ? { ...fns, broadcastStates: [...broadcastStates] } : fns;
  return addOperator<R>(env, { kind, name, inputs: 2, keyed, spec, fns: allFns }, [first, second]);
}

/** Two streams connected for a two-input operator (which may share state across both inputs). */
export class ConnectedStreams<T1, T2> {
  /** Phantom field carrying the record types; never set. */
  declare readonly __type?: (a: T1, b: T2) => void;

  constructor(
    /** The environment of both streams. */
    readonly env: StreamExecutionEnvironment,
    /** Producers of input 0 (internal to the API). */
    readonly first: readonly Producer[],
    /** Producers of input 1 (internal to the API). */
    readonly second: readonly Producer[],
  ) {}

  /** `map1` for records of the first stream, `map2` for the second. */
  map<R>(fn: CoMapFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('map', fn, ['map1', 'map2'], 'a CoMapFunction');
    return this.#op<R>('coMap', 'Co-Map', fn);
  }

  /** `flatMap1` for records of the first stream, `flatMap2` for the second. */
  flatMap<R>(fn: CoFlatMapFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('flatMap', fn, ['flatMap1', 'flatMap2'], 'a CoFlatMapFunction');
    return this.#op<R>('coFlatMap', 'Co-Flat Map', fn);
  }

  /** Low-level two-input processing with side outputs. */
  process<R>(fn: CoProcessFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('process', fn, ['processElement1', 'processElement2'], 'a CoProcessFunction');
    return this.#op<R>('coProcess', 'Co-Process', fn);
  }

  /** Keys both inputs (with keys of the same type), for keyed state and timers shared per key. */
  keyBy<K extends Key>(key1: KeySelector<T1, K>, key2: KeySelector<T2, K>): KeyedConnectedStreams<T1, T2, K> {
    if (typeof key1 !== 'function' || typeof key2 !== 'function') {
      throw new ProgramDefinitionError(
        'keyBy expects a function returning a string or number for each input',
      );
    }
    return new KeyedConnectedStreams<T1, T2, K>(
      this.env,
      { producers: this.first, partitioning: 'HASH' },
      { producers: this.second, partitioning: 'HASH' },
      key1,
      key2,
    );
  }

  #op<R>(kind: NodeKind, name: string, fn: unknown): SingleOutputStreamOperator<R> {
    return twoInput<R>(
      this.env,
      kind,
      name,
      false,
      { fn },
      { producers: this.first },
      { producers: this.second },
    );
  }
}

/** Two streams keyed the same way and connected: per-key state and timers see both inputs. */
export class KeyedConnectedStreams<T1, T2, K extends Key> {
  /** Phantom field carrying the record and key types; never set. */
  declare readonly __type?: (a: T1, b: T2, key: K) => K;
  readonly #key1: KeySelector<T1, K> | undefined;
  readonly #key2: KeySelector<T2, K> | undefined;

  constructor(
    /** The environment of both streams. */
    readonly env: StreamExecutionEnvironment,
    /** Input 0, HASH-partitioned (internal to the API). */
    readonly first: InputSpec,
    /** Input 1, HASH-partitioned (internal to the API). */
    readonly second: InputSpec,
    key1?: KeySelector<T1, K>,
    key2?: KeySelector<T2, K>,
  ) {
    this.#key1 = key1;
    this.#key2 = key2;
  }

  /** Keyed two-input map. */
  map<R>(fn: CoMapFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('map', fn, ['map1', 'map2'], 'a CoMapFunction');
    return this.#op<R>('coMap', 'Co-Map', fn);
  }

  /** Keyed two-input flatMap. */
  flatMap<R>(fn: CoFlatMapFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('flatMap', fn, ['flatMap1', 'flatMap2'], 'a CoFlatMapFunction');
    return this.#op<R>('coFlatMap', 'Co-Flat Map', fn);
  }

  /** Keyed two-input processing with keyed state and timers. */
  process<R>(fn: KeyedCoProcessFunction<K, T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('process', fn, ['processElement1', 'processElement2'], 'a KeyedCoProcessFunction');
    return this.#op<R>('keyedCoProcess', 'Keyed Co-Process', fn);
  }

  /** Creates the node, with both key selectors (internal to the API). */
  #op<R>(kind: NodeKind, name: string, fn: unknown): SingleOutputStreamOperator<R> {
    const fns: NodeFunctions = { fn };
    if (this.#key1) fns.key = this.#key1;
    if (this.#key2) fns.key2 = this.#key2;
    return twoInput<R>(this.env, kind, name, true, fns, this.first, this.second);
  }

  /** Connected keyed streams built from two KeyedStreams (internal to the API). */
  static of<T1, T2, K extends Key>(
    a: KeyedStream<T1, K>,
    b: KeyedStream<T2, K>,
  ): KeyedConnectedStreams<T1, T2, K> {
    return new KeyedConnectedStreams<T1, T2, K>(a.env, a.input(), b.input(), a.keySelector, b.keySelector);
  }
}

/** A stream broadcast to every instance of the operator it connects to, with broadcast state. */
export class BroadcastStream<T> {
  /** Phantom field carrying the record type; never set. */
  declare readonly __type?: (value: T) => T;

  constructor(
    /** The environment of the stream. */
    readonly env: StreamExecutionEnvironment,
    /** Producers, BROADCAST-partitioned (internal to the API). */
    readonly producers: readonly Producer[],
    /** The broadcast state this stream writes. */
    readonly descriptors: readonly AnyMapStateDescriptor[],
  ) {}
}

/** A non-keyed stream connected with a broadcast stream. */
export class BroadcastConnectedStream<T1, T2> {
  constructor(
    /** The environment of both streams. */
    readonly env: StreamExecutionEnvironment,
    /** Producers of the non-broadcast input (internal to the API). */
    readonly first: readonly Producer[],
    /** The broadcast input. */
    readonly broadcastStream: BroadcastStream<T2>,
  ) {}

  /** Processes both sides: the broadcast side writes broadcast state, the other reads it. */
  process<R>(fn: BroadcastProcessFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('process', fn, ['processElement', 'processBroadcastElement'], 'a BroadcastProcessFunction');
    const b = this.broadcastStream;
    return twoInput<R>(
      this.env,
      'broadcastProcess',
      'Broadcast Process',
      false,
      { fn },
      { producers: this.first },
      { producers: b.producers },
      b.descriptors,
    );
  }
}

/** A keyed stream connected with a broadcast stream. */
export class KeyedBroadcastConnectedStream<T1, T2, K extends Key> {
  constructor(
    /** The keyed input. */
    readonly keyed: KeyedStream<T1, K>,
    /** The broadcast input. */
    readonly broadcastStream: BroadcastStream<T2>,
  ) {}

  /** Processes both sides: keyed state and timers on the keyed side, broadcast state written by the broadcast side. */
  process<R>(fn: KeyedBroadcastProcessFunction<K, T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods(
      'process',
      fn,
      ['processElement', 'processBroadcastElement'],
      'a KeyedBroadcastProcessFunction',
    );
    const b = this.broadcastStream;
    return twoInput<R>(
      this.keyed.env,
      'keyedBroadcastProcess',
      'Keyed Broadcast Process',
      true,
      { fn, key: this.keyed.keySelector },
      this.keyed.input(),
      { producers: b.producers },
      b.descriptors,
    );
  }
}
