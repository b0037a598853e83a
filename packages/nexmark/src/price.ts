/**
 * Nexmark's prices: log-uniform between 1.00 and 1,000,000.00, in cents.
 *
 * The generator defines the price of a uniform 32-bit draw `u` as
 * `Math.round(Math.exp((u / 2^32) × 6 ln 10) × 100)` — "the" price, which the
 * Java port of the generator reproduces with `StrictMath.exp` (fdlibm, as
 * V8's `Math.exp`). {@link priceOf} returns exactly that number, faster:
 * `Math.exp` is a call into C++ from optimised code and was a fifth of the
 * generator's time.
 *
 * How: split `u` into its top 12 bits `i` and low 20 bits `j`, so the exponent
 * is `i·h + j·s` with `h = 6 ln 10 / 2^12`, `s = 6 ln 10 / 2^32`. Then
 * `100·e^x = T[i] · e^r` with `T[i] = 100·e^(i·h)` from a table (made with
 * `Math.exp`) and `r = j·s < h ≈ 0.0034`, where the Taylor polynomial of degree
 * 4 is accurate to `r^5/120 < 4e-15`. All errors together (the table's, the
 * polynomial's, the roundings, and `Math.exp`'s own, below one unit in the last
 * place) stay below 6e-15 of the value (measured maximum over a 1-in-101
 * sample of all inputs: 5.6e-15 = 2^-47.3). The approximation is accepted only
 * when the whole interval `y·(1 ± 2^-40)` — 128 times that bound — rounds to
 * the same integer; otherwise (about 1 draw in 80,000, near a half cent) the
 * price comes from `Math.exp` as defined. Checked against the definition for
 * every one of the 2^32 inputs.
 */

/** 6 ln 10: e^(6 ln 10 · x) = 10^(6x), x uniform in [0, 1). */
const LN_1E6 = 13.815510557964274;
/** The exponent's step per unit of the low 20 bits: 6 ln 10 / 2^32 (exact: a power of two). */
const LOW_STEP = LN_1E6 / 4294967296;
/** Relative margin of the fast path (see above). */
const MARGIN = 2 ** -40;
/** `100·e^(i · 6 ln 10 / 2^12)` for the top 12 bits `i` of the draw. */
const TABLE: Float64Array = (() => {
  const table = new Float64Array(4096);
  const highStep = LN_1E6 / 4096;
  for (let i = 0; i < 4096; i++) table[i] = Math.exp(i * highStep) * 100;
  return table;
})();

/** The price by its definition: `Math.round(Math.exp((u / 2^32) × 6 ln 10) × 100)`. */
export function definedPriceOf(u: number): number {
  return Math.round(Math.exp((u / 4294967296) * LN_1E6) * 100);
}

/**
 * Price in cents of the uniform unsigned 32-bit draw `u`: equal to
 * {@link definedPriceOf}`(u)` for every `u` in `[0, 2^32)`.
 */
export function priceOf(u: number): number {
  const r = (u & 0xfffff) * LOW_STEP;
  const y = TABLE[u >>> 20]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24)))));
  const margin = y * MARGIN;
  // Math.floor(v + 0.5) is Math.round(v) for 0.5 <= v < 2^52 (v + 0.5 is exact
  // or rounds to that same integer), and it compiles to one instruction where
  // Math.round costs ~10 ns; every value here is at least 100.
  const low = Math.floor(y - margin + 0.5);
  if (low === Math.floor(y + margin + 0.5)) return low;
  return Math.floor(Math.exp((u / 4294967296) * LN_1E6) * 100 + 0.5);
}
