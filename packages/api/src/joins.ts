/**
 * Joins: the window join (`join(other).where(k1).equalTo(k2).window(a).apply(fn)`)
 * pairs the records of two streams with equal keys in the same window, the
 * window coGroup (`coGroup(other)...apply(fn)`) hands each key's records of
 * both sides in a window to one call; the
 * interval join (`keyed.intervalJoin(otherKeyed).between(lo, hi).process(fn)`)
 * pairs records with equal keys whose timestamps differ by `lo..hi`.
 * Both are keyed two-input nodes with HASH edges.
 */
import type { Producer } from './builder.js';
import { checkFinite, checkFunction, checkMethods, checkUserFunction } from './check.js';
import { addOperator, type SingleOutputStreamOperator } from './datastream.js';
import type { StreamExecutionEnvironment } from './environment.js';
import { ProgramDefinitionError } from './errors.js';
import type {
  CoGroupFunction,
  JoinFunction,
  Key,
  KeySelector,
  Millis,
  ProcessJoinFunction,
  Trigger,
} from './functions.js';
import type { WindowAssignerSpec } from '@freshet/graph';
import type { KeyedStream } from './keyed.js';
import { checkAssigner, describeAssigner } from './windows/assigners.js';
import { checkTrigger, defaultTrigger, describeTrigger } from './windows/triggers.js';
import { checkWindowTrigger, withAllowedLateness } from './windowed.js';

/** Which two-stream window operator a builder makes: a join (pairs) or a coGroup (both sides at once). */
export type TwoStreamWindowKind = 'join' | 'coGroup';

/** Two streams to join (or coGroup); next: `where(keyOfFirst)`. */
export class JoinedStreams<T1, T2, M extends TwoStreamWindowKind = 'join'> {
  constructor(
    /** The environment of both streams. */
    readonly env: StreamExecutionEnvironment,
    /** Producers of the first stream (internal to the API). */
    readonly first: readonly Producer[],
    /** Producers of the second stream (internal to the API). */
    readonly second: readonly Producer[],
    /** A join or a coGroup. */
    readonly kind: M = 'join' as M,
  ) {}

  /** Key of the first stream's records. */
  where<K extends Key>(key1: KeySelector<T1, K>): JoinWhere<T1, T2, K, M> {
    checkFunction('where', key1, 'a function returning a string or number');
    return new JoinWhere<T1, T2, K, M>(this, key1);
  }
}

/** A join with the first key; next: `equalTo(keyOfSecond)`. */
export class JoinWhere<T1, T2, K extends Key, M extends TwoStreamWindowKind = 'join'> {
  constructor(
    /** The streams. */
    readonly streams: JoinedStreams<T1, T2, M>,
    /** Key of the first stream. */
    readonly key1: KeySelector<T1, K>,
  ) {}

  /** Key of the second stream's records (same key type as the first). */
  equalTo(key2: KeySelector<T2, K>): JoinEqualTo<T1, T2, K, M> {
    checkFunction('equalTo', key2, 'a function returning a string or number');
    return new JoinEqualTo<T1, T2, K, M>(this.streams, this.key1, key2);
  }
}

/** A join with both keys; next: `window(assigner)`. */
export class JoinEqualTo<T1, T2, K extends Key, M extends TwoStreamWindowKind = 'join'> {
  constructor(
    /** The streams. */
    readonly streams: JoinedStreams<T1, T2, M>,
    /** Key of the first stream. */
    readonly key1: KeySelector<T1, K>,
    /** Key of the second stream. */
    readonly key2: KeySelector<T2, K>,
  ) {}

  /** The windows in which records are paired (or grouped). */
  window(assigner: WindowAssignerSpec): WindowedJoin<T1, T2, K, M> {
    return new WindowedJoin<T1, T2, K, M>(this, checkAssigner('window', assigner), { allowedLatenessMs: 0 });
  }
}

/** The function a window join or coGroup applies. */
export type TwoStreamWindowFunction<T1, T2, R, M extends TwoStreamWindowKind> = M extends 'coGroup'
  ? CoGroupFunction<T1, T2, R>
  : JoinFunction<T1, T2, R>;

/** Settings of a window join. */
interface JoinSettings {
  readonly trigger?: Trigger<never>;
  readonly allowedLatenessMs: number;
}

/** A window join (or coGroup) ready for its function; next: `apply(fn)`. */
export class WindowedJoin<T1, T2, K extends Key, M extends TwoStreamWindowKind = 'join'> {
  constructor(
    /** Streams and keys. */
    readonly join: JoinEqualTo<T1, T2, K, M>,
    /** How records map to windows. */
    readonly assigner: WindowAssignerSpec,
    /** Trigger and lateness. */
    readonly settings: JoinSettings,
  ) {}

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<T1 | T2>): WindowedJoin<T1, T2, K, M> {
    checkTrigger('trigger', trigger);
    checkWindowTrigger('trigger', this.assigner, trigger);
    return new WindowedJoin<T1, T2, K, M>(this.join, this.assigner, { ...this.settings, trigger });
  }

  /**
   * Keeps windows for `ms` after the watermark passed their end. Event-time windows only.
   * @default 0
   */
  allowedLateness(ms: Millis): WindowedJoin<T1, T2, K, M> {
    return new WindowedJoin<T1, T2, K, M>(
      this.join,
      this.assigner,
      withAllowedLateness(this.assigner, this.settings, ms),
    );
  }

  /**
   * A join: calls `fn(left, right)` for every pair of records with equal keys
   * in the same window. A coGroup: calls `fn(first, second, out)` once per key
   * and window with all records of both sides (one side may be empty).
   */
  apply<R>(fn: TwoStreamWindowFunction<T1, T2, R, M>): SingleOutputStreamOperator<R> {
    const { streams, key1, key2 } = this.join;
    const coGroup = streams.kind === 'coGroup';
    if (coGroup) checkUserFunction('apply', fn, 'coGroup');
    else checkFunction('apply', fn, 'a join function (left, right) => result');
    const triggerName = this.settings.trigger ? `, ${describeTrigger(this.settings.trigger)}` : '';
    return addOperator<R>(
      streams.env,
      {
        kind: 'windowJoin',
        name: `${coGroup ? 'WindowCoGroup' : 'WindowJoin'}(${describeAssigner(this.assigner)}${triggerName})`,
        inputs: 2,
        keyed: true,
        spec: {
          window: {
            assigner: { ...this.assigner },
            keyed: true,
            function: 'process',
            withProcess: false,
            allowedLatenessMs: this.settings.allowedLatenessMs,
            customTrigger: this.settings.trigger !== undefined,
          },
        },
        fns: {
          ...(coGroup ? { coGroup: fn } : { join: fn }),
          key: key1,
          key2,
          trigger: this.settings.trigger ?? defaultTrigger(this.assigner),
        },
      },
      [
        { producers: streams.first, partitioning: 'HASH' },
        { producers: streams.second, partitioning: 'HASH' },
      ],
    );
  }
}

/** An interval join; next: `between(lowerMs, upperMs)`. */
export class IntervalJoin<T1, T2, K extends Key> {
  constructor(
    /** The first (left) keyed stream. */
    readonly left: KeyedStream<T1, K>,
    /** The second (right) keyed stream. */
    readonly right: KeyedStream<T2, K>,
  ) {}

  /**
   * Pairs a left record at time `t` with right records of the same key in
   * `[t + lowerMs, t + upperMs]` (bounds inclusive unless made exclusive).
   */
  between(lowerMs: Millis, upperMs: Millis): IntervalJoined<T1, T2, K> {
    checkFinite('between lower bound', lowerMs);
    checkFinite('between upper bound', upperMs);
    if (lowerMs > upperMs) {
      throw new ProgramDefinitionError(`between expects lowerMs <= upperMs (got ${lowerMs}, ${upperMs})`);
    }
    return new IntervalJoined<T1, T2, K>(this, {
      lowerMs,
      upperMs,
      lowerInclusive: true,
      upperInclusive: true,
    });
  }
}

/** The bounds of an interval join. */
export interface IntervalBounds {
  lowerMs: Millis;
  upperMs: Millis;
  lowerInclusive: boolean;
  upperInclusive: boolean;
}

/** An interval join with bounds; next: `process(fn)`. */
export class IntervalJoined<T1, T2, K extends Key> {
  constructor(
    /** The two keyed streams. */
    readonly join: IntervalJoin<T1, T2, K>,
    /** The interval. */
    readonly bounds: IntervalBounds,
  ) {}

  /** Excludes the lower bound: right timestamps must be > left + lowerMs. */
  lowerBoundExclusive(): IntervalJoined<T1, T2, K> {
    return new IntervalJoined<T1, T2, K>(this.join, { ...this.bounds, lowerInclusive: false });
  }

  /** Excludes the upper bound: right timestamps must be < left + upperMs. */
  upperBoundExclusive(): IntervalJoined<T1, T2, K> {
    return new IntervalJoined<T1, T2, K>(this.join, { ...this.bounds, upperInclusive: false });
  }

  /** Calls `fn` for every matching pair. */
  process<R>(fn: ProcessJoinFunction<T1, T2, R>): SingleOutputStreamOperator<R> {
    checkMethods('process', fn, ['processElement'], 'a ProcessJoinFunction');
    const { left, right } = this.join;
    return addOperator<R>(
      left.env,
      {
        kind: 'intervalJoin',
        name: 'IntervalJoin',
        inputs: 2,
        keyed: true,
        spec: { intervalJoin: { ...this.bounds } },
        fns: { fn, key: left.keySelector, key2: right.keySelector },
      },
      [left.input(), right.input()],
    );
  }
}
