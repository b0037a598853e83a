/**
 * The functions behind `sum`/`min`/`max`/`minBy`/`maxBy`, shared by keyed
 * streams (rolling) and windowed streams. By field name they keep the record
 * type (Flink's semantics: `sum('f')` is the first record with `f` replaced
 * by the sum; `minBy('f')` is the record with the smallest `f`); by selector
 * they give `{ key, value }` (or a number on non-keyed windows).
 */
import { describeValue } from './check.js';
import { ProgramDefinitionError } from './errors.js';
import type { AggregateFunction, Key, KeySelector } from './functions.js';

/** Names of the fields of `T` that hold numbers (for `sum('price')` and friends). */
export type NumericField<T> = { [P in keyof T]-?: T[P] extends number ? P : never }[keyof T] & string;

/** Result of an aggregation given a selector: the key and the value. */
export interface KeyedValue<K extends Key, V> {
  key: K;
  value: V;
}

/** How two numbers combine, with the value of no element. */
export interface NumberCombiner {
  readonly combine: (a: number, b: number) => number;
  readonly initial: number;
}

/** `sum`, `min` and `max`. */
export const COMBINERS = {
  sum: { combine: (a: number, b: number) => a + b, initial: 0 },
  min: { combine: Math.min, initial: Number.POSITIVE_INFINITY },
  max: { combine: Math.max, initial: Number.NEGATIVE_INFINITY },
} as const satisfies Record<string, NumberCombiner>;

/** Which aggregation, for error messages. */
export type FieldAggregation = keyof typeof COMBINERS | 'minBy' | 'maxBy';

/** A field name, or a selector; throws a definition error otherwise. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the record type of the selector
export function checkFieldOrSelector<T>(
  what: FieldAggregation,
  by: unknown,
): string | ((value: T) => number) {
  if ((typeof by === 'string' && by.length > 0) || typeof by === 'function')
    return by as string | ((value: T) => number);
  throw new ProgramDefinitionError(
    `${what} expects a numeric field name or a function returning a number (got ${describeValue(by)})`,
  );
}

/** Reduce: the first record with `field` replaced by the combination (the record itself while it stays unchanged). */
export function fieldReducer<T>(field: string, combiner: NumberCombiner): (a: T, b: T) => T {
  const combine = combiner.combine;
  return (a: T, b: T): T => {
    const x = (a as Record<string, number>)[field]!;
    const y = (b as Record<string, number>)[field]!;
    const r = combine(x, y);
    return r === x ? a : { ...a, [field]: r };
  };
}

/** Reduce: the record whose field (or selector) value is better; the earlier one on ties. */
export function byReducer<T>(
  by: string | ((value: T) => number),
  better: (x: number, y: number) => boolean,
): (a: T, b: T) => T {
  if (typeof by === 'string') {
    const field = by;
    return (a: T, b: T): T =>
      better((a as Record<string, number>)[field]!, (b as Record<string, number>)[field]!) ? b : a;
  }
  return (a: T, b: T): T => (better(by(a), by(b)) ? b : a);
}

/** `minBy`: a smaller value wins. */
export const smaller = (x: number, y: number): boolean => y < x;
/** `maxBy`: a larger value wins. */
export const larger = (x: number, y: number): boolean => y > x;

/** Aggregate: `{ key, value }` with `value` the combination of `selector` over the key's records. */
export function keyedSelectorAggregate<T, K extends Key>(
  key: KeySelector<T, K>,
  selector: (value: T) => number,
  combiner: NumberCombiner,
): AggregateFunction<T, KeyedValue<K, number> | undefined, KeyedValue<K, number>> {
  const combine = combiner.combine;
  return {
    createAccumulator: () => undefined,
    add: (value, acc) => {
      if (acc === undefined) return { key: key(value), value: combine(combiner.initial, selector(value)) };
      acc.value = combine(acc.value, selector(value));
      return acc;
    },
    getResult: (acc) => ({ key: acc!.key, value: acc!.value }),
    merge: (a, b) => (a && b ? { key: a.key, value: combine(a.value, b.value) } : (a ?? b)),
  };
}
