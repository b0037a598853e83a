/**
 * Nexmark Query 3 (local item suggestion): auctions in category 10 whose
 * seller lives in Oregon, Idaho or California, as `{name, city, state, id}`
 * (`id` is the auction's id).
 *
 * An incremental join keyed by person id: a keyed two-input process function
 * remembers the (qualifying) person and the category-10 auctions of sellers
 * not seen yet, so the result is the same whichever of the two arrives first.
 */
import {
  defineProgram,
  ListStateDescriptor,
  OutputTag,
  ValueStateDescriptor,
  type Collector,
  type KeyedCoProcessFunction,
  type ListState,
  type ProcessContext,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import { nexmarkEvents, parseQueryArgs, sinkResult, type NexmarkEvent } from './common.js';

/** Output record of q3. */
export interface Q3Result {
  name: string;
  city: string;
  state: string;
  id: number;
}

/** What q3 needs of an auction (projected before the exchange). */
interface AuctionRef {
  id: number;
  seller: number;
}

/** What q3 needs of a person. */
interface Seller {
  id: number;
  name: string;
  city: string;
  state: string;
}

/** Seller states q3 selects. */
export const Q3_STATES: readonly string[] = ['OR', 'ID', 'CA'];

/** Joins sellers (input 2) with their auctions (input 1), whichever comes first. */
class SellerJoin implements KeyedCoProcessFunction<number, AuctionRef, Seller, Q3Result> {
  private person!: ValueState<Seller>;
  private pending!: ListState<AuctionRef>;

  open(ctx: RuntimeContext): void {
    this.person = ctx.getState(new ValueStateDescriptor<Seller>('seller'));
    this.pending = ctx.getListState(new ListStateDescriptor<AuctionRef>('auctions-waiting-for-seller'));
  }

  processElement1(auction: AuctionRef, _ctx: unknown, out: Collector<Q3Result>): void {
    const p = this.person.value();
    if (p) out.collect({ name: p.name, city: p.city, state: p.state, id: auction.id });
    else this.pending.add(auction);
  }

  processElement2(p: Seller, _ctx: unknown, out: Collector<Q3Result>): void {
    this.person.update(p);
    for (const auction of this.pending.get())
      out.collect({ name: p.name, city: p.city, state: p.state, id: auction.id });
    this.pending.clear();
  }
}

/** Category-10 auctions on the main output, sellers in OR/ID/CA on this side output. */
const SELLERS = new OutputTag<Seller>('q3-sellers');

/** The q3 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  // One pass splits the events (main output + side output) inside the source's chain, so only
  // the few selected records cross the exchange to the join.
  const category10 = nexmarkEvents(env, args)
    .process({
      processElement(e: NexmarkEvent, ctx: ProcessContext, out: Collector<AuctionRef>) {
        if (e.event_type === 1) {
          if (e.auction.category === 10) out.collect({ id: e.auction.id, seller: e.auction.seller });
        } else if (e.event_type === 0) {
          const state = e.person.state;
          if (state === 'OR' || state === 'ID' || state === 'CA')
            ctx.output(SELLERS, { id: e.person.id, name: e.person.name, city: e.person.city, state });
        }
      },
    })
    .name('q3-select');
  const sellers = category10.getSideOutput(SELLERS);
  const result = category10
    .connect(sellers)
    .keyBy(
      (a: AuctionRef) => a.seller,
      (p: Seller) => p.id,
    )
    .process(new SellerJoin())
    .name('q3-join');
  sinkResult(result, args);
});
