/**
 * Nexmark Query 2 (selection): the bids on auctions whose id is a multiple
 * of 123, as `{auction, price}`.
 */
import { defineProgram } from '@freshet/api';
import { bids, nexmarkEvents, parseQueryArgs, sinkResult, type Bid } from './common.js';

/** Output record of q2. */
export interface Q2Result {
  auction: number;
  price: number;
}

/** The q2 program (arguments: see `parseQueryArgs`). */
export default defineProgram((env, rawArgs) => {
  const args = parseQueryArgs(rawArgs);
  const result = bids(nexmarkEvents(env, args))
    .filter((b: Bid) => b.auction % 123 === 0)
    .name('q2-filter')
    .map((b: Bid): Q2Result => ({ auction: b.auction, price: b.price }))
    .name('q2-project');
  sinkResult(result, args);
});
