/**
 * Interval join of two keyed streams: a left record at `t` joins right
 * records with timestamps in `[t + lower, t + upper]` (bounds optionally
 * exclusive). Both sides are buffered per key and timestamp; event-time
 * cleanup timers drop a buffered record once no future record of the other
 * side can match it. Joined records carry `max(left, right)` as timestamp.
 */
import type { Collector, IntervalJoinContext, Key, OutputTag } from '@freshet/api';
import { MIN_WATERMARK, NO_TIMESTAMP, type Output } from '../operator.js';
import type { KeyedStatePart } from '../state/backend.js';
import type { StateMap, StateValueCodec } from '../state/disk-store.js';
import type { InternalTimerService, Timer } from '../timers/timer-service.js';
import { AbstractOperator, TimestampedCollector, type KeyFn } from './base.js';
import { OperatorUsageError } from './errors.js';

type JoinFn = (left: unknown, right: unknown, ctx: IntervalJoinContext, out: Collector<unknown>) => void;

/** How one key's buffered records are stored on disk: as `[timestamp, records]` entries. */
const BY_TIMESTAMP_CODEC: StateValueCodec<Map<number, unknown[]>> = Object.freeze({
  encode: (byTs: Map<number, unknown[]>): unknown => [...byTs],
  decode: (data: unknown): Map<number, unknown[]> => new Map(data as [number, unknown[]][]),
});

/** key -> timestamp -> records. */
class SideBuffer implements KeyedStatePart {
  /** On the disk backend a map on disk (set in setup). */
  byKey: StateMap<Map<number, unknown[]>> = new Map<Key, Map<number, unknown[]>>();
  add(key: Key, ts: number, value: unknown): void {
    let byTs = this.byKey.get(key);
    if (!byTs) this.byKey.set(key, (byTs = new Map<number, unknown[]>()));
    const list = byTs.get(ts);
    if (list) list.push(value);
    else byTs.set(ts, [value]);
  }
  remove(key: Key, ts: number): void {
    const byTs = this.byKey.get(key);
    if (!byTs) return;
    byTs.delete(ts);
    if (byTs.size === 0) this.byKey.delete(key);
  }
  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [key, byTs] of this.byKey) {
      const entries: [number, unknown[]][] = [];
      for (const [ts, list] of byTs) entries.push([ts, list.slice()]);
      emit(key, entries);
    }
  }
  restoreKey(key: Key, data: unknown): void {
    const byTs = new Map<number, unknown[]>();
    for (const [ts, list] of data as [number, unknown[]][]) byTs.set(ts, list);
    this.byKey.set(key, byTs);
  }
}

class JoinContext implements IntervalJoinContext {
  left = 0;
  right = 0;
  constructor(private readonly out: Output) {}
  leftTimestamp(): number {
    return this.left;
  }
  rightTimestamp(): number {
    return this.right;
  }
  timestamp(): number {
    return this.left > this.right ? this.left : this.right;
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value, this.timestamp());
  }
}

const LEFT = 0;
const RIGHT = 1;

/** The interval join operator. */
export class IntervalJoinOperator extends AbstractOperator {
  private key1!: KeyFn;
  private key2!: KeyFn;
  private fn!: JoinFn;
  private lower = 0;
  private upper = 0;
  private readonly left = new SideBuffer();
  private readonly right = new SideBuffer();
  private jctx!: JoinContext;
  private collector!: TimestampedCollector;
  private joinTimers!: InternalTimerService;

  protected setup(): void {
    const spec = this.node.spec.intervalJoin;
    if (!spec)
      throw new OperatorUsageError(`Operator '${this.name}' (intervalJoin) has no spec.intervalJoin`);
    // Exclusive bounds become inclusive ones on integer milliseconds.
    this.lower = spec.lowerInclusive ? spec.lowerMs : spec.lowerMs + 1;
    this.upper = spec.upperInclusive ? spec.upperMs : spec.upperMs - 1;
    if (this.lower > this.upper) {
      throw new OperatorUsageError(
        `Operator '${this.name}': interval join lower bound ${spec.lowerMs} is after upper bound ${spec.upperMs}`,
      );
    }
    this.key1 = this.keySelector(0);
    this.key2 = this.keySelector(1);
    this.fn = this.userFunction(this.node.fns.fn ?? this.node.fns.join, 'processElement');
    const backend = this.requireBackend('An interval join');
    this.left.byKey = backend.stateMap('join:left', BY_TIMESTAMP_CODEC);
    this.right.byKey = backend.stateMap('join:right', BY_TIMESTAMP_CODEC);
    backend.registerPart('join:left', this.left);
    backend.registerPart('join:right', this.right);
    this.joinTimers = this.timerService({
      onEventTime: (timer) => {
        this.cleanup(timer);
      },
      onProcessingTime: () => undefined,
    });
    this.jctx = new JoinContext(this.output);
    this.collector = new TimestampedCollector(this.output);
  }

  processElement(value: unknown, timestamp: number): void {
    this.element(value, timestamp, true);
  }

  processElement2(value: unknown, timestamp: number): void {
    this.element(value, timestamp, false);
  }

  private element(value: unknown, ts: number, isLeft: boolean): void {
    if (ts === NO_TIMESTAMP) {
      throw new OperatorUsageError(
        `Operator '${this.name}': interval joins need record timestamps; call assignTimestampsAndWatermarks(...) upstream`,
      );
    }
    let key: Key;
    try {
      key = isLeft ? this.key1(value) : this.key2(value);
    } catch (error) {
      this.fail(error, 'keySelector');
    }
    const wm = this.currentWatermark;
    if (wm !== MIN_WATERMARK && ts < wm) return; // late: it could not be joined completely
    this.backend!.setCurrentKey(key);
    const other = (isLeft ? this.right : this.left).byKey.get(key);
    if (other) {
      // Left at t matches right in [t + lower, t + upper]; right at t matches left in [t - upper, t - lower].
      const from = isLeft ? ts + this.lower : ts - this.upper;
      const to = isLeft ? ts + this.upper : ts - this.lower;
      for (const [otherTs, list] of other) {
        if (otherTs < from || otherTs > to) continue;
        for (const o of list) {
          if (isLeft) this.join(value, ts, o, otherTs);
          else this.join(o, otherTs, value, ts);
        }
      }
    }
    (isLeft ? this.left : this.right).add(key, ts, value);
    // A buffered record is needed while the other side may still bring a match.
    const cleanupAt = isLeft ? ts + Math.max(this.upper, 0) : ts + Math.max(-this.lower, 0);
    this.joinTimers.registerEventTimeTimer(isLeft ? LEFT : RIGHT, cleanupAt);
  }

  private join(left: unknown, leftTs: number, right: unknown, rightTs: number): void {
    const jctx = this.jctx;
    jctx.left = leftTs;
    jctx.right = rightTs;
    this.collector.timestamp = leftTs > rightTs ? leftTs : rightTs;
    try {
      this.fn(left, right, jctx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement');
    }
  }

  private cleanup(timer: Timer): void {
    if (timer.ns === LEFT) this.left.remove(timer.key, timer.time - Math.max(this.upper, 0));
    else this.right.remove(timer.key, timer.time - Math.max(-this.lower, 0));
  }

  /** Number of buffered timestamps (both sides), for tests. */
  bufferedTimestamps(): number {
    let n = 0;
    for (const side of [this.left, this.right]) for (const [, byTs] of side.byKey) n += byTs.size;
    return n;
  }
}
