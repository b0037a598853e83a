/**
 * Nexmark Query 1 (currency conversion): every bid with its price converted
 * from dollars to euros (`price × 0.908`), as `{auction, bidder, price, dateTime, extra}`.
 */
import { defineProgram } from '@freshet/api';
import { bids, nexmarkEvents, parseQueryArgs, sinkResult, type Bid } from './common.js';

/** Output record of q1. */
export interface Q1Result {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
}

/** Dollar-to-euro rate of the Nexmark specification. */
export const DOLLAR_TO_EURO = 0.908;

/** The q1 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  const result = bids(nexmarkEvents(env, args))
    .map((b: Bid): Q1Result => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price * DOLLAR_TO_EURO,
      dateTime: b.dateTime,
      extra: b.extra,
    }))
    .name('q1-convert');
  sinkResult(result, args);
});
