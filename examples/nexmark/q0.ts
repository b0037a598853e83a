/**
 * Nexmark Query 0 (pass-through): every bid as `{auction, bidder, price, dateTime, extra}`.
 * Measures the cost of reading, parsing and writing events.
 */
import { defineProgram } from '@freshet/api';
import { bids, nexmarkEvents, parseQueryArgs, sinkResult, type Bid } from './common.js';

/** Output record of q0. */
export interface Q0Result {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
}

/** The q0 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  const result = bids(nexmarkEvents(env, args))
    .map((b: Bid): Q0Result => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      dateTime: b.dateTime,
      extra: b.extra,
    }))
    .name('q0-project');
  sinkResult(result, args);
});
