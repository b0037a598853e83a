/**
 * Watermark strategies (Flink's WatermarkStrategy), for
 * `assignTimestampsAndWatermarks`. A strategy is immutable: every `with...`
 * returns a new one. It turns into the node's {@link WatermarkSpec} (data)
 * plus the timestamp assigner (a user function).
 */
import { checkFunction, checkNonNegativeInt, checkPositiveDuration } from './check.js';
import type { Millis } from './functions.js';
import type { WatermarkSpec } from '@freshet/graph';

/**
 * Extracts the event time of a record.
 * @param value the record
 * @param previousTimestamp the timestamp the record already carries, if any
 */
export type TimestampAssigner<T> = (value: T, previousTimestamp: Millis | undefined) => Millis;

/** How timestamps are assigned and watermarks generated. */
export class WatermarkStrategy<T> {
  private constructor(
    /** The watermark generation, as data. */
    readonly spec: WatermarkSpec,
    /** Extracts event time; when absent records keep the timestamps they have. */
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
  ) {}

  /**
   * Watermarks that trail the largest timestamp seen by `maxOutOfOrdernessMs`:
   * records up to that much out of order are not late.
   */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: Millis): WatermarkStrategy<T> {
    checkNonNegativeInt('WatermarkStrategy.forBoundedOutOfOrderness', maxOutOfOrdernessMs);
    return new WatermarkStrategy<T>({ outOfOrdernessMs: maxOutOfOrdernessMs }, undefined);
  }

  /** Watermarks for timestamps that never decrease (out-of-orderness 0). */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>({ outOfOrdernessMs: 0 }, undefined);
  }

  /** Assigns timestamps (if given an assigner) but generates no watermarks. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>({ outOfOrdernessMs: 0, none: true }, undefined);
  }

  /** Returns this strategy with `assigner` extracting each record's event time. */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    checkFunction('withTimestampAssigner', assigner, 'a function (value, previousTimestamp) => milliseconds');
    return new WatermarkStrategy<T>(this.spec, assigner);
  }

  /**
   * Returns this strategy with idleness detection: an input without records
   * for `idleTimeoutMs` is marked idle and does not hold back the watermark.
   */
  withIdleness(idleTimeoutMs: Millis): WatermarkStrategy<T> {
    checkPositiveDuration('withIdleness', idleTimeoutMs);
    return new WatermarkStrategy<T>({ ...this.spec, idlenessMs: idleTimeoutMs }, this.timestampAssigner);
  }
}

/** Shorthand for {@link WatermarkStrategy.noWatermarks}. */
export function noWatermarks<T>(): WatermarkStrategy<T> {
  return WatermarkStrategy.noWatermarks<T>();
}
