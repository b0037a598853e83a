/**
 * Ready-made {@link AggregateFunction}s for windows and rolling aggregation:
 * `window(...).aggregate(Aggregations.sum((b: Bid) => b.price))`. They all
 * support merging (session windows). Accumulators are small objects or
 * numbers updated in place, so a record costs no allocation.
 */
import { checkFunction } from './check.js';
import type { AggregateFunction } from './functions.js';

/** Running sum and count of an average. */
export interface AvgAccumulator {
  sum: number;
  count: number;
}

/** Ready-made aggregate functions. */
export const Aggregations = {
  /** Number of elements. */
  count<T = unknown>(): AggregateFunction<T, number, number> {
    return {
      createAccumulator: () => 0,
      add: (_value, acc) => acc + 1,
      getResult: (acc) => acc,
      merge: (a, b) => a + b,
    };
  },
  /** Sum of `selector(element)`; 0 for no elements. */
  sum<T>(selector: (value: T) => number): AggregateFunction<T, number, number> {
    checkFunction('Aggregations.sum', selector, 'a function returning a number');
    return {
      createAccumulator: () => 0,
      add: (value, acc) => acc + selector(value),
      getResult: (acc) => acc,
      merge: (a, b) => a + b,
    };
  },
  /** Smallest `selector(element)`; +Infinity for no elements. */
  min<T>(selector: (value: T) => number): AggregateFunction<T, number, number> {
    checkFunction('Aggregations.min', selector, 'a function returning a number');
    return {
      createAccumulator: () => Number.POSITIVE_INFINITY,
      add: (value, acc) => Math.min(acc, selector(value)),
      getResult: (acc) => acc,
      merge: (a, b) => Math.min(a, b),
    };
  },
  /** Largest `selector(element)`; -Infinity for no elements. */
  max<T>(selector: (value: T) => number): AggregateFunction<T, number, number> {
    checkFunction('Aggregations.max', selector, 'a function returning a number');
    return {
      createAccumulator: () => Number.NEGATIVE_INFINITY,
      add: (value, acc) => Math.max(acc, selector(value)),
      getResult: (acc) => acc,
      merge: (a, b) => Math.max(a, b),
    };
  },
  /** Mean of `selector(element)`; NaN for no elements. */
  avg<T>(selector: (value: T) => number): AggregateFunction<T, AvgAccumulator, number> {
    checkFunction('Aggregations.avg', selector, 'a function returning a number');
    return {
      createAccumulator: () => ({ sum: 0, count: 0 }),
      add: (value, acc) => {
        acc.sum += selector(value);
        acc.count += 1;
        return acc;
      },
      getResult: (acc) => acc.sum / acc.count,
      merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    };
  },
} as const;
