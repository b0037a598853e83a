/**
 * Nexmark Query 7 (highest bid): in tumbling 10 s windows, the bids whose
 * price equals the window's highest price, as `{auction, bidder, price,
 * dateTime, extra}`.
 *
 * First a local pre-filter in the source's chain: each parallel instance
 * remembers the highest price it has seen per window and drops bids below it
 * (they cannot be the window's highest), so few bids cross the network. Then
 * two phases, as Flink plans a global MAX: stage 1 keeps the top bids per
 * window in each of 64 shards (keyed by `dateTime % 64`, which spreads the
 * load evenly whatever the auction or bidder skew); stage 2, keyed by window
 * start, merges the shards' tops and emits when the watermark passes the
 * window's end.
 */
import {
  defineProgram,
  TumblingEventTimeWindows,
  Time,
  ValueStateDescriptor,
  type AggregateFunction,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type ProcessContext,
  type ProcessFunction,
  type ProcessWindowContext,
  type ProcessWindowFunction,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import { nexmarkEvents, parseQueryArgs, sinkResult, type NexmarkEvent } from './common.js';

/** Output record of q7. */
export interface Q7Result {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
}

/** Window size of q7 (ms). */
export const Q7_SIZE_MS = 10_000;
const SHARDS = 64;

interface Top {
  price: number;
  bids: Q7Result[];
}
interface WindowTop extends Top {
  start: number;
}

const topBids: AggregateFunction<Q7Result, Top, Top> = {
  createAccumulator: () => ({ price: -1, bids: [] }),
  add(b, acc) {
    if (b.price > acc.price) return { price: b.price, bids: [b] };
    if (b.price === acc.price) acc.bids.push(b);
    return acc;
  },
  getResult: (acc) => acc,
  merge(a, b) {
    if (a.price !== b.price) return a.price > b.price ? a : b;
    return { price: a.price, bids: [...a.bids, ...b.bids] };
  },
};

const withWindow: ProcessWindowFunction<Top, WindowTop, number> = {
  process(_shard: number, ctx: ProcessWindowContext, tops: readonly Top[], out: Collector<WindowTop>): void {
    const top = tops[0];
    if (top) out.collect({ start: ctx.window().start, price: top.price, bids: top.bids });
  },
};

/** Keyed by window start: merges the shards' tops, emits at the window's end. */
class MaxPerWindow implements KeyedProcessFunction<number, WindowTop, Q7Result> {
  private top!: ValueState<Top>;

  open(ctx: RuntimeContext): void {
    this.top = ctx.getState(new ValueStateDescriptor<Top>('top'));
  }

  processElement(t: WindowTop, ctx: KeyedProcessContext<number>): void {
    const cur = this.top.value();
    if (!cur) {
      this.top.update({ price: t.price, bids: t.bids.slice() });
      ctx.timerService().registerEventTimeTimer(t.start + Q7_SIZE_MS - 1);
    } else if (t.price > cur.price) {
      this.top.update({ price: t.price, bids: t.bids.slice() });
    } else if (t.price === cur.price) {
      for (const b of t.bids) cur.bids.push(b);
      this.top.update(cur);
    }
  }

  onTimer(_time: number, _ctx: OnTimerContext<number>, out: Collector<Q7Result>): void {
    const top = this.top.value();
    if (!top) return;
    for (const b of top.bids) out.collect(b);
    this.top.clear();
  }
}

/**
 * Drops the bids whose price is below the highest this instance has already
 * seen in the same window. Keeps a few recent windows only: with the disorder
 * bound far below the window size, older windows get no more bids.
 */
class LocalMaxFilter implements ProcessFunction<NexmarkEvent, Q7Result> {
  private readonly maxPerWindow = new Map<number, number>();
  private newestStart = Number.NEGATIVE_INFINITY;

  processElement(e: NexmarkEvent, _ctx: ProcessContext, out: Collector<Q7Result>): void {
    if (e.event_type !== 2) return;
    const b = e.bid;
    const start = b.dateTime - (b.dateTime % Q7_SIZE_MS);
    const max = this.maxPerWindow.get(start);
    if (max !== undefined && b.price < max) return;
    if (max === undefined && start > this.newestStart) {
      this.newestStart = start;
      for (const s of this.maxPerWindow.keys()) if (s < start - 2 * Q7_SIZE_MS) this.maxPerWindow.delete(s);
    }
    if (max === undefined || b.price > max) this.maxPerWindow.set(start, b.price);
    out.collect({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      dateTime: b.dateTime,
      extra: b.extra,
    });
  }
}

/** The q7 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  const shardTops = nexmarkEvents(env, args)
    .process(new LocalMaxFilter())
    .name('q7-local-max-filter')
    .keyBy((b: Q7Result) => b.dateTime % SHARDS)
    .window(TumblingEventTimeWindows.of(Time.seconds(Q7_SIZE_MS / 1000)))
    .aggregate(topBids, withWindow)
    .name('q7-top-per-shard');
  const result = shardTops
    .keyBy((t: WindowTop) => t.start)
    .process(new MaxPerWindow())
    .name('q7-max-per-window');
  sinkResult(result, args);
});
