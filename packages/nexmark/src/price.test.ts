import { describe, expect, it } from 'vitest';
import { definedPriceOf, priceOf } from './price.js';

describe('priceOf', () => {
  it('equals the defined price on a spread of all 2^32 draws and at both ends', () => {
    let mismatches = 0;
    // A stride prime to every power of two visits every residue class of the table's buckets.
    for (let u = 0; u < 2 ** 32; u += 997) if (priceOf(u) !== definedPriceOf(u)) mismatches++;
    for (let u = 0; u < 100_000; u++) if (priceOf(u) !== definedPriceOf(u)) mismatches++;
    for (let u = 2 ** 32 - 100_000; u < 2 ** 32; u++) if (priceOf(u) !== definedPriceOf(u)) mismatches++;
    expect(mismatches).toBe(0);
    expect(priceOf(0)).toBe(100);
    expect(priceOf(2 ** 32 - 1)).toBe(100_000_000);
  });

  it('equals the defined price next to every half cent it crosses in a stretch of draws', () => {
    // Where the price steps from p to p + 1 the value passes p + 0.5: the fast
    // path must hand those draws to Math.exp. Find the steps by bisection in a
    // few stretches (low, middle and high prices) and check the draws around each.
    let checked = 0;
    let mismatches = 0;
    for (const start of [1_000_000, 2_000_000_000, 4_294_000_000]) {
      let u = start;
      for (let steps = 0; steps < 200; steps++) {
        const p = definedPriceOf(u);
        let lo = u;
        let hi = u + 1;
        while (definedPriceOf(hi) === p) hi = lo + (hi - lo) * 2;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (definedPriceOf(mid) === p) lo = mid;
          else hi = mid;
        }
        for (let v = lo - 3; v <= hi + 3; v++, checked++) if (priceOf(v) !== definedPriceOf(v)) mismatches++;
        u = hi;
      }
    }
    expect(checked).toBe(3 * 200 * 8);
    expect(mismatches).toBe(0);
  });
});
