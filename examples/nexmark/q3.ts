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
  ValueStateDescriptor,
  type Collector,
  type KeyedCoProcessFunction,
  type ListState,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import {
  auctions,
  nexmarkEvents,
  parseQueryArgs,
  persons,
  sinkResult,
  type Auction,
  type Person,
} from './common.js';

/** Output record of q3. */
export interface Q3Result {
  name: string;
  city: string;
  state: string;
  id: number;
}

/** Seller states q3 selects. */
export const Q3_STATES: readonly string[] = ['OR', 'ID', 'CA'];

/** Joins sellers (input 2) with their auctions (input 1), whichever comes first. */
class SellerJoin implements KeyedCoProcessFunction<number, Auction, Person, Q3Result> {
  private person!: ValueState<Person>;
  private pending!: ListState<Auction>;

  open(ctx: RuntimeContext): void {
    this.person = ctx.getState(new ValueStateDescriptor<Person>('seller'));
    this.pending = ctx.getListState(new ListStateDescriptor<Auction>('auctions-waiting-for-seller'));
  }

  processElement1(auction: Auction, _ctx: unknown, out: Collector<Q3Result>): void {
    const p = this.person.value();
    if (p) out.collect({ name: p.name, city: p.city, state: p.state, id: auction.id });
    else this.pending.add(auction);
  }

  processElement2(p: Person, _ctx: unknown, out: Collector<Q3Result>): void {
    this.person.update(p);
    for (const auction of this.pending.get())
      out.collect({ name: p.name, city: p.city, state: p.state, id: auction.id });
    this.pending.clear();
  }
}

export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  const events = nexmarkEvents(env, args);
  const category10 = auctions(events)
    .filter((a: Auction) => a.category === 10)
    .name('q3-category-10');
  const sellers = persons(events)
    .filter((p: Person) => p.state === 'OR' || p.state === 'ID' || p.state === 'CA')
    .name('q3-states');
  const result = category10
    .connect(sellers)
    .keyBy(
      (a: Auction) => a.seller,
      (p: Person) => p.id,
    )
    .process(new SellerJoin())
    .name('q3-join');
  sinkResult(result, args);
});
