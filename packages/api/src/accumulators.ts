/**
 * Accumulators (Flink's `org.apache.flink.api.common.accumulators`): named
 * values every subtask adds to locally; the job merges the subtasks' values
 * by name and reports the result with the job (the local run's result,
 * `jobs.get`, `freshet run`'s output), live while the job runs and final
 * when it ends.
 *
 * Merging happens outside user code (the JobManager never runs user code),
 * so an accumulator hands its local part over as data, an
 * {@link AccumulatorValue} whose `kind` says how parts merge. A custom
 * accumulator ({@link CustomAccumulator}) reports its local value as it is
 * and the job's result lists the values of the subtasks, for the caller to
 * combine.
 */
/** An accumulator's local part as data: what a subtask reports and the job merges. */
export type AccumulatorValue =
  | { kind: 'sum'; value: number }
  | { kind: 'min'; value: number }
  | { kind: 'max'; value: number }
  | { kind: 'average'; sum: number; count: number }
  /** Value (as a string key) -> number of times it was added. */
  | { kind: 'histogram'; counts: Record<string, number> }
  | { kind: 'list'; values: unknown[] }
  | { kind: 'custom'; value: unknown };

/** Every {@link AccumulatorValue} kind. */
export type AccumulatorKind = AccumulatorValue['kind'];

/** A value each subtask adds to, merged across subtasks by the job (Flink's Accumulator). */
export interface Accumulator<V, R> {
  /** Adds a value locally. */
  add(value: V): void;
  /** The local (this subtask's) result. */
  getLocalValue(): R;
  /** Forgets the local value. */
  resetLocal(): void;
  /** The local part as data, for the job to merge (plain, structured-clone-able data). */
  toValue(): AccumulatorValue;
}

/** Sums numbers (base of the counters). */
export class SumAccumulator implements Accumulator<number, number> {
  #sum = 0;
  /** @inheritdoc */
  add(value: number): void {
    this.#sum += value;
  }
  /** @inheritdoc */
  getLocalValue(): number {
    return this.#sum;
  }
  /** @inheritdoc */
  resetLocal(): void {
    this.#sum = 0;
  }
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    return { kind: 'sum', value: this.#sum };
  }
}

/** Flink's IntCounter: a sum (JavaScript has one number type; the name is kept for familiarity). */
export class IntCounter extends SumAccumulator {}
/** Flink's LongCounter: a sum. */
export class LongCounter extends SumAccumulator {}
/** Flink's DoubleCounter: a sum. */
export class DoubleCounter extends SumAccumulator {}

/** The smallest number added (+Infinity before any). */
export class MinimumAccumulator implements Accumulator<number, number> {
  #min = Number.POSITIVE_INFINITY;
  /** @inheritdoc */
  add(value: number): void {
    if (value < this.#min) this.#min = value;
  }
  /** @inheritdoc */
  getLocalValue(): number {
    return this.#min;
  }
  /** @inheritdoc */
  resetLocal(): void {
    this.#min = Number.POSITIVE_INFINITY;
  }
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    return { kind: 'min', value: this.#min };
  }
}

/** The largest number added (-Infinity before any). */
export class MaximumAccumulator implements Accumulator<number, number> {
  #max = Number.NEGATIVE_INFINITY;
  /** @inheritdoc */
  add(value: number): void {
    if (value > this.#max) this.#max = value;
  }
  /** @inheritdoc */
  getLocalValue(): number {
    return this.#max;
  }
  /** @inheritdoc */
  resetLocal(): void {
    this.#max = Number.NEGATIVE_INFINITY;
  }
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    return { kind: 'max', value: this.#max };
  }
}

/** The mean of the numbers added (Flink's AverageAccumulator); NaN before any. */
export class AverageAccumulator implements Accumulator<number, number> {
  #sum = 0;
  #count = 0;
  /** @inheritdoc */
  add(value: number): void {
    this.#sum += value;
    this.#count++;
  }
  /** @inheritdoc */
  getLocalValue(): number {
    return this.#sum / this.#count;
  }
  /** @inheritdoc */
  resetLocal(): void {
    this.#sum = 0;
    this.#count = 0;
  }
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    return { kind: 'average', sum: this.#sum, count: this.#count };
  }
}

/** How often each value was added (Flink's accumulator Histogram): value -> count. */
export class HistogramAccumulator implements Accumulator<number, Map<number, number>> {
  readonly #counts = new Map<number, number>();
  /** @inheritdoc */
  add(value: number): void {
    this.#counts.set(value, (this.#counts.get(value) ?? 0) + 1);
  }
  /** @inheritdoc */
  getLocalValue(): Map<number, number> {
    return new Map(this.#counts);
  }
  /** @inheritdoc */
  resetLocal(): void {
    this.#counts.clear();
  }
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    const counts: Record<string, number> = {};
    for (const [v, n] of this.#counts) counts[String(v)] = n;
    return { kind: 'histogram', counts };
  }
}

/** Every value added, in order (Flink's ListAccumulator); values must be plain data. */
export class ListAccumulator<T> implements Accumulator<T, T[]> {
  readonly #values: T[] = [];
  /** @inheritdoc */
  add(value: T): void {
    this.#values.push(value);
  }
  /** @inheritdoc */
  getLocalValue(): T[] {
    return this.#values.slice();
  }
  /** @inheritdoc */
  resetLocal(): void {
    this.#values.length = 0;
  }
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    return { kind: 'list', values: this.#values.slice() };
  }
}

/**
 * Base of a user's own accumulator: implement `add`, `getLocalValue` (plain
 * data) and `resetLocal`. The job reports the subtasks' local values as a
 * list (merging would mean running user code outside the job).
 */
export abstract class CustomAccumulator<V, R> implements Accumulator<V, R> {
  /** @inheritdoc */
  abstract add(value: V): void;
  /** @inheritdoc */
  abstract getLocalValue(): R;
  /** @inheritdoc */
  abstract resetLocal(): void;
  /** @inheritdoc */
  toValue(): AccumulatorValue {
    return { kind: 'custom', value: this.getLocalValue() };
  }
}
