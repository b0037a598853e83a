/**
 * Nexmark Query 5 (hot items): in sliding windows of 10 s every 2 s, the
 * auction(s) with the most bids (all of them on a tie), as
 * `{auction, num, starttime}` (`starttime` = window start, epoch ms).
 *
 * Stage 1 counts bids per auction and window (incremental aggregate, keyed
 * by auction); stage 2, keyed by window start, keeps the maximum and emits it
 * when the watermark passes the window's end.
 */
import {
  defineProgram,
  SlidingEventTimeWindows,
  Time,
  ValueStateDescriptor,
  type AggregateFunction,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type ProcessWindowContext,
  type ProcessWindowFunction,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import { nexmarkEvents, parseQueryArgs, sinkResult, type NexmarkEvent } from './common.js';

/** Output record of q5. */
export interface Q5Result {
  auction: number;
  num: number;
  starttime: number;
}

/** Window size and slide of q5 (ms). */
export const Q5_SIZE_MS = 10_000;
/** Slide of q5's windows (ms). */
export const Q5_SLIDE_MS = 2_000;

const countBids: AggregateFunction<number, number, number> = {
  createAccumulator: () => 0,
  add: (_b, n) => n + 1,
  getResult: (n) => n,
  merge: (a, b) => a + b,
};

const withWindow: ProcessWindowFunction<number, Q5Result, number> = {
  process(
    auction: number,
    ctx: ProcessWindowContext,
    counts: readonly number[],
    out: Collector<Q5Result>,
  ): void {
    out.collect({ auction, num: counts[0] ?? 0, starttime: ctx.window().start });
  },
};

interface Hottest {
  num: number;
  auctions: number[];
}

/** Keyed by window start: the auctions with the highest count, emitted at the window's end. */
class MaxPerWindow implements KeyedProcessFunction<number, Q5Result, Q5Result> {
  private hottest!: ValueState<Hottest>;

  open(ctx: RuntimeContext): void {
    this.hottest = ctx.getState(new ValueStateDescriptor<Hottest>('hottest'));
  }

  processElement(r: Q5Result, ctx: KeyedProcessContext<number>): void {
    const h = this.hottest.value();
    if (!h) {
      this.hottest.update({ num: r.num, auctions: [r.auction] });
      ctx.timerService().registerEventTimeTimer(r.starttime + Q5_SIZE_MS - 1);
    } else if (r.num > h.num) {
      this.hottest.update({ num: r.num, auctions: [r.auction] });
    } else if (r.num === h.num) {
      h.auctions.push(r.auction);
      this.hottest.update(h);
    }
  }

  onTimer(_time: number, ctx: OnTimerContext<number>, out: Collector<Q5Result>): void {
    const h = this.hottest.value();
    if (!h) return;
    const starttime = ctx.getCurrentKey();
    for (const auction of h.auctions) out.collect({ auction, num: h.num, starttime });
    this.hottest.clear();
  }
}

/** The q5 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  // Only the auction id crosses the exchange (the record keeps the bid's timestamp).
  const counts = nexmarkEvents(env, args)
    .flatMap((e: NexmarkEvent, out: Collector<number>) => {
      if (e.event_type === 2) out.collect(e.bid.auction);
    })
    .name('q5-bid-auctions')
    .keyBy((auction: number) => auction)
    .window(SlidingEventTimeWindows.of(Time.seconds(Q5_SIZE_MS / 1000), Time.seconds(Q5_SLIDE_MS / 1000)))
    .aggregate(countBids, withWindow)
    .name('q5-count-per-auction');
  const result = counts
    .keyBy((r: Q5Result) => r.starttime)
    .process(new MaxPerWindow())
    .name('q5-max-per-window');
  sinkResult(result, args);
});
