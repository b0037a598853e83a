/**
 * Nexmark Query 8 (monitor new users): in tumbling 10 s windows, the persons
 * who registered in the same window as an auction they sell, once per person
 * and window, as `{id, name, stime}` (`stime` = window start).
 *
 * Persons and auctions meet keyed by person id (an auction by its seller) in
 * one tumbling window whose accumulator only remembers the person's name and
 * whether an auction was seen — a co-group, so each person appears at most
 * once per window however many auctions they opened.
 */
import {
  defineProgram,
  TumblingEventTimeWindows,
  Time,
  type AggregateFunction,
  type Collector,
  type ProcessWindowContext,
  type ProcessWindowFunction,
} from '@freshet/api';
import { nexmarkEvents, parseQueryArgs, sinkResult, type NexmarkEvent } from './common.js';

/** Output record of q8. */
export interface Q8Result {
  id: number;
  name: string;
  stime: number;
}

/** Window size of q8 (ms). */
export const Q8_SIZE_MS = 10_000;

/** A person (`name` set) or an auction of seller `id` (`name` undefined). */
interface Side {
  id: number;
  name: string | undefined;
}
interface Seen {
  name: string | undefined;
  auction: boolean;
}

const coGroup: AggregateFunction<Side, Seen, Seen> = {
  createAccumulator: () => ({ name: undefined, auction: false }),
  add(s, acc) {
    if (s.name !== undefined) acc.name = s.name;
    else acc.auction = true;
    return acc;
  },
  getResult: (acc) => acc,
  merge: (a, b) => ({ name: a.name ?? b.name, auction: a.auction || b.auction }),
};

const emitMatches: ProcessWindowFunction<Seen, Q8Result, number> = {
  process(id: number, ctx: ProcessWindowContext, seen: readonly Seen[], out: Collector<Q8Result>): void {
    const s = seen[0];
    if (s && s.auction && s.name !== undefined) out.collect({ id, name: s.name, stime: ctx.window().start });
  },
};

/** The q8 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  const sides = nexmarkEvents(env, args)
    .flatMap((e: NexmarkEvent, out: Collector<Side>) => {
      if (e.event_type === 0) out.collect({ id: e.person.id, name: e.person.name });
      else if (e.event_type === 1) out.collect({ id: e.auction.seller, name: undefined });
    })
    .name('q8-persons-and-sellers');
  const result = sides
    .keyBy((s: Side) => s.id)
    .window(TumblingEventTimeWindows.of(Time.seconds(Q8_SIZE_MS / 1000)))
    .aggregate(coGroup, emitMatches)
    .name('q8-new-sellers');
  sinkResult(result, args);
});
