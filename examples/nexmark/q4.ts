/**
 * Nexmark Query 4 (average price per category): the winning price of each
 * auction is its highest bid whose dateTime lies in `[auction.dateTime,
 * auction.expires]` (auctions without such a bid have no winner and drop
 * out); the result is the running average of the winning prices per
 * category, as `{id, final}` (`id` = category).
 *
 * An updating result: a new record per category whenever a new auction
 * closes. The last record per category is the final value (`freshet nexmark
 * run` keeps only that one in the output file).
 *
 * Closing an auction is an event-time timer at `expires`: with the watermark
 * delay equal to the source's disorder bound no bid is late, so when the
 * watermark passes `expires` every bid that can win has arrived. Bids that
 * arrive before their auction wait in state until the watermark passes their
 * own time (by then the auction, which must not be younger than the bid, has
 * arrived or never will).
 */
import {
  defineProgram,
  ListStateDescriptor,
  OutputTag,
  ValueStateDescriptor,
  type Collector,
  type KeyedCoProcessFunction,
  type KeyedProcessFunction,
  type ListState,
  type ProcessContext,
  type OnTimerContext,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import { nexmarkEvents, parseQueryArgs, sinkResult, type NexmarkEvent } from './common.js';

/** Output record of q4. */
export interface Q4Result {
  /** The category. */
  id: number;
  /** Average winning price in the category so far. */
  final: number;
}

/** What q4 needs of an auction (projected before the exchange: less to serialize). */
interface AuctionInfo {
  id: number;
  dateTime: number;
  expires: number;
  category: number;
}

/** What q4 needs of a bid. */
interface BidInfo {
  auction: number;
  price: number;
  dateTime: number;
}

/** The winning price of one closed auction. */
interface Winner {
  category: number;
  price: number;
}

/** Keyed by auction id: input 1 auctions, input 2 bids. */
class WinningBid implements KeyedCoProcessFunction<number, AuctionInfo, BidInfo, Winner> {
  private auction!: ValueState<AuctionInfo>;
  private best!: ValueState<number>;
  private early!: ListState<BidInfo>;

  open(ctx: RuntimeContext): void {
    this.auction = ctx.getState(new ValueStateDescriptor<AuctionInfo>('auction'));
    this.best = ctx.getState(new ValueStateDescriptor<number>('best-price'));
    this.early = ctx.getListState(new ListStateDescriptor<BidInfo>('bids-before-auction'));
  }

  private offer(a: AuctionInfo, b: BidInfo): void {
    if (b.dateTime < a.dateTime || b.dateTime > a.expires) return;
    const best = this.best.value();
    if (best === undefined || b.price > best) this.best.update(b.price);
  }

  processElement1(a: AuctionInfo, ctx: KeyedProcessContext<number>): void {
    this.auction.update(a);
    for (const b of this.early.get()) this.offer(a, b);
    this.early.clear();
    ctx.timerService().registerEventTimeTimer(a.expires);
  }

  processElement2(b: BidInfo, ctx: KeyedProcessContext<number>): void {
    const a = this.auction.value();
    if (a) {
      this.offer(a, b);
    } else {
      this.early.add(b);
      ctx.timerService().registerEventTimeTimer(b.dateTime);
    }
  }

  onTimer(time: number, _ctx: OnTimerContext<number>, out: Collector<Winner>): void {
    const a = this.auction.value();
    if (a) {
      if (time < a.expires) return;
      const best = this.best.value();
      if (best !== undefined) out.collect({ category: a.category, price: best });
      this.auction.clear();
      this.best.clear();
      this.early.clear();
      return;
    }
    // No auction yet although the watermark passed these bids: none can ever win.
    const waiting = this.early.get();
    const keep = waiting.filter((b) => b.dateTime > time);
    if (keep.length === 0) this.early.clear();
    else if (keep.length !== waiting.length) this.early.update(keep);
  }
}

/** Keyed by category: running average of winning prices. */
class CategoryAverage implements KeyedProcessFunction<number, Winner, Q4Result> {
  private sum!: ValueState<number>;
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', 0));
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
  }

  processElement(w: Winner, _ctx: KeyedProcessContext<number>, out: Collector<Q4Result>): void {
    const sum = (this.sum.value() ?? 0) + w.price;
    const count = (this.count.value() ?? 0) + 1;
    this.sum.update(sum);
    this.count.update(count);
    out.collect({ id: w.category, final: sum / count });
  }
}

/** Auctions on the main output, bids on this side output. */
const BIDS = new OutputTag<BidInfo>('q4-bids');

/** The q4 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  // Split in one pass inside the source's chain: one look at each event (two filters would
  // chain with the source as well, but test every event twice).
  const auctions = nexmarkEvents(env, args)
    .process({
      processElement(e: NexmarkEvent, ctx: ProcessContext, out: Collector<AuctionInfo>) {
        if (e.event_type === 2) {
          const b = e.bid;
          ctx.output(BIDS, { auction: b.auction, price: b.price, dateTime: b.dateTime });
        } else if (e.event_type === 1) {
          const a = e.auction;
          out.collect({ id: a.id, dateTime: a.dateTime, expires: a.expires, category: a.category });
        }
      },
    })
    .name('q4-split');
  const winners = auctions
    .connect(auctions.getSideOutput(BIDS))
    .keyBy(
      (a: AuctionInfo) => a.id,
      (b: BidInfo) => b.auction,
    )
    .process(new WinningBid())
    .name('q4-winning-bid');
  const result = winners
    .keyBy((w: Winner) => w.category)
    .process(new CategoryAverage())
    .name('q4-category-average');
  sinkResult(result, args);
});
