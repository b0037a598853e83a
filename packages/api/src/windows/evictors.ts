/**
 * Built-in evictors (Flink's), as pure logic over a window's buffer. Give
 * one to `evictor(...)` on a windowed stream; `countWindow(size, slide)`
 * uses {@link CountEvictor}. Each evicts before the window function runs,
 * or after it with `doEvictAfter`.
 */
import {
  checkFunction,
  checkPositiveDuration,
  checkPositiveInt,
  describeValue,
  displayNameOf,
} from '../check.js';
import { ProgramDefinitionError } from '../errors.js';
import type { Evictor, EvictorContext, Millis, TimeWindow, TimestampedValue } from '../functions.js';

/** Keeps at most `maxCount` elements: the most recent ones. */
export class CountEvictor<T = unknown> implements Evictor<T> {
  private constructor(
    /** Elements kept. */
    readonly maxCount: number,
    /** Evicts after the window function instead of before. */
    readonly doEvictAfter: boolean,
  ) {}

  /**
   * Keeps the `maxCount` most recent elements of the window.
   * @param doEvictAfter evict after the window function runs @default false
   */
  static of<T = unknown>(maxCount: number, doEvictAfter = false): CountEvictor<T> {
    return new CountEvictor<T>(checkPositiveInt('CountEvictor.of', maxCount), doEvictAfter);
  }
  /** @inheritdoc */
  evictBefore(
    elements: TimestampedValue<T>[],
    size: number,
    _window: TimeWindow,
    _ctx: EvictorContext,
  ): void {
    if (!this.doEvictAfter) this.evict(elements, size);
  }
  /** @inheritdoc */
  evictAfter(elements: TimestampedValue<T>[], size: number, _window: TimeWindow, _ctx: EvictorContext): void {
    if (this.doEvictAfter) this.evict(elements, size);
  }
  private evict(elements: TimestampedValue<T>[], size: number): void {
    if (size > this.maxCount) elements.splice(0, size - this.maxCount);
  }
  /** Display name used in node names. */
  toString(): string {
    return `CountEvictor(${this.maxCount})`;
  }
}

/**
 * Keeps the elements of the last `windowSizeMs` of event time: those whose
 * timestamp is greater than the largest timestamp in the window minus
 * `windowSizeMs`. Does nothing when the elements have no timestamps.
 */
export class TimeEvictor<T = unknown> implements Evictor<T> {
  private constructor(
    /** Span of event time kept. */
    readonly windowSizeMs: Millis,
    /** Evicts after the window function instead of before. */
    readonly doEvictAfter: boolean,
  ) {}

  /**
   * Keeps the elements of the last `windowSizeMs` milliseconds.
   * @param doEvictAfter evict after the window function runs @default false
   */
  static of<T = unknown>(windowSizeMs: Millis, doEvictAfter = false): TimeEvictor<T> {
    return new TimeEvictor<T>(checkPositiveDuration('TimeEvictor.of', windowSizeMs), doEvictAfter);
  }
  /** @inheritdoc */
  evictBefore(
    elements: TimestampedValue<T>[],
    _size: number,
    _window: TimeWindow,
    _ctx: EvictorContext,
  ): void {
    if (!this.doEvictAfter) this.evict(elements);
  }
  /** @inheritdoc */
  evictAfter(
    elements: TimestampedValue<T>[],
    _size: number,
    _window: TimeWindow,
    _ctx: EvictorContext,
  ): void {
    if (this.doEvictAfter) this.evict(elements);
  }
  private evict(elements: TimestampedValue<T>[]): void {
    let max = Number.NEGATIVE_INFINITY;
    for (const e of elements) if (e.timestamp !== undefined && e.timestamp > max) max = e.timestamp;
    if (max === Number.NEGATIVE_INFINITY) return;
    const cutoff = max - this.windowSizeMs;
    removeWhere(elements, (e) => e.timestamp !== undefined && e.timestamp <= cutoff);
  }
  /** Display name used in node names. */
  toString(): string {
    return `TimeEvictor(${this.windowSizeMs})`;
  }
}

/** Distance between two elements, for {@link DeltaEvictor}. */
export type DeltaFunction<T> = (oldElement: T, newElement: T) => number;

/**
 * Evicts the elements whose delta to the window's last element is at least
 * `threshold` (Flink's DeltaEvictor).
 */
export class DeltaEvictor<T> implements Evictor<T> {
  private constructor(
    /** Elements at this delta or more from the last one are evicted. */
    readonly threshold: number,
    /** The distance between two elements. */
    readonly deltaFunction: DeltaFunction<T>,
    /** Evicts after the window function instead of before. */
    readonly doEvictAfter: boolean,
  ) {}

  /**
   * Evicts elements `e` with `deltaFunction(e, last) >= threshold`.
   * @param doEvictAfter evict after the window function runs @default false
   */
  static of<T>(threshold: number, deltaFunction: DeltaFunction<T>, doEvictAfter = false): DeltaEvictor<T> {
    if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
      throw new ProgramDefinitionError(
        `DeltaEvictor.of expects a number threshold (got ${describeValue(threshold)})`,
      );
    }
    checkFunction('DeltaEvictor.of', deltaFunction, 'a function (oldElement, newElement) => number');
    return new DeltaEvictor<T>(threshold, deltaFunction, doEvictAfter);
  }
  /** @inheritdoc */
  evictBefore(
    elements: TimestampedValue<T>[],
    _size: number,
    _window: TimeWindow,
    _ctx: EvictorContext,
  ): void {
    if (!this.doEvictAfter) this.evict(elements);
  }
  /** @inheritdoc */
  evictAfter(
    elements: TimestampedValue<T>[],
    _size: number,
    _window: TimeWindow,
    _ctx: EvictorContext,
  ): void {
    if (this.doEvictAfter) this.evict(elements);
  }
  private evict(elements: TimestampedValue<T>[]): void {
    const last = elements[elements.length - 1];
    if (last === undefined) return;
    removeWhere(elements, (e) => this.deltaFunction(e.value, last.value) >= this.threshold);
  }
  /** Display name used in node names. */
  toString(): string {
    return `DeltaEvictor(${this.threshold})`;
  }
}

/** Removes the elements matching `evict`, keeping the order of the rest (in place, one pass). */
function removeWhere<T>(elements: T[], evict: (e: T) => boolean): void {
  let kept = 0;
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i]!;
    if (!evict(e)) elements[kept++] = e;
  }
  elements.length = kept;
}

/** Display name of an evictor for node names. */
export function describeEvictor(evictor: Evictor<never>): string {
  return displayNameOf(evictor, 'Evictor');
}

/** Throws unless `value` has the methods of an {@link Evictor}. */
export function checkEvictor(what: string, value: unknown): void {
  const e = value as Partial<Record<keyof Evictor<unknown>, unknown>> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.evictBefore !== 'function' ||
    typeof e.evictAfter !== 'function'
  ) {
    throw new ProgramDefinitionError(
      `${what} expects an Evictor with evictBefore and evictAfter, e.g. CountEvictor.of(100) (got ${describeValue(value)})`,
    );
  }
}
