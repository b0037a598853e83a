/**
 * Watermark strategies (Flink's WatermarkStrategy), for
 * `assignTimestampsAndWatermarks`. A strategy is immutable: every `with...`
 * returns a new one. It turns into the node's {@link WatermarkSpec} (data)
 * plus the timestamp assigner (a user function).
 */
import { checkFunction, checkNonEmptyString, checkNonNegativeInt, checkPositiveDuration } from './check.js';
import type { Millis } from './functions.js';
import type { MetricGroup } from './metrics.js';
import type { WatermarkSpec } from '@freshet/graph';

/**
 * Extracts the event time of a record.
 * @param value the record
 * @param previousTimestamp the timestamp the record already carries, if any
 */
export type TimestampAssigner<T> = (value: T, previousTimestamp: Millis | undefined) => Millis;

/** Where a {@link WatermarkGenerator} emits (Flink's WatermarkOutput). */
export interface WatermarkOutput {
  /** Emits a watermark; one that does not advance past the last emitted is ignored. */
  emitWatermark(watermark: Millis): void;
  /** Marks the output idle: it holds back no downstream watermark until the next record or watermark. */
  markIdle(): void;
  /** Marks the output active again. */
  markActive(): void;
}

/**
 * Generates watermarks from the records (Flink's WatermarkGenerator): a
 * punctuated generator emits in `onEvent`, a periodic one in
 * `onPeriodicEmit`, called every `autoWatermarkInterval` (200 ms by default).
 * One generator per parallel instance; it may keep state in its fields.
 */
export interface WatermarkGenerator<T> {
  /** Called for every record, with its (assigned) timestamp. */
  onEvent(event: T, eventTimestamp: Millis, output: WatermarkOutput): void;
  /** Called periodically (not at all when the interval is 0). */
  onPeriodicEmit(output: WatermarkOutput): void;
}

/** What a generator's factory gets (Flink's WatermarkGeneratorSupplier.Context). */
export interface WatermarkGeneratorContext {
  /** The metric group of the operator that runs the generator. */
  getMetricGroup(): MetricGroup;
}

/** Creates the generator of one parallel instance (Flink's WatermarkGeneratorSupplier). */
export type WatermarkGeneratorSupplier<T> = (ctx: WatermarkGeneratorContext) => WatermarkGenerator<T>;

/**
 * Flink's BoundedOutOfOrdernessWatermarks as a generator, to build on in a
 * custom one: the watermark trails the largest timestamp seen by
 * `maxOutOfOrdernessMs` (`max - outOfOrderness - 1`).
 */
export class BoundedOutOfOrdernessWatermarks<T> implements WatermarkGenerator<T> {
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  constructor(
    /** How far out of order records may be. */
    readonly maxOutOfOrdernessMs: Millis,
  ) {
    checkNonNegativeInt('BoundedOutOfOrdernessWatermarks', maxOutOfOrdernessMs);
  }
  /** @inheritdoc */
  onEvent(_event: T, eventTimestamp: Millis, _output: WatermarkOutput): void {
    if (eventTimestamp > this.maxTimestamp) this.maxTimestamp = eventTimestamp;
  }
  /** @inheritdoc */
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.maxTimestamp > Number.NEGATIVE_INFINITY)
      output.emitWatermark(this.maxTimestamp - this.maxOutOfOrdernessMs - 1);
  }
}

/** How timestamps are assigned and watermarks generated. */
export class WatermarkStrategy<T> {
  private constructor(
    /** The watermark generation, as data. */
    readonly spec: WatermarkSpec,
    /** Extracts event time; when absent records keep the timestamps they have. */
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    /** A custom generator's factory ({@link WatermarkStrategy.forGenerator}). */
    readonly generatorSupplier?: WatermarkGeneratorSupplier<T>,
  ) {}

  /**
   * Watermarks from a custom generator (Flink's `forGenerator`): `supplier`
   * creates one per parallel instance. Combine with `withTimestampAssigner`
   * and `withIdleness` like any strategy.
   */
  static forGenerator<T>(supplier: WatermarkGeneratorSupplier<T>): WatermarkStrategy<T> {
    checkFunction('WatermarkStrategy.forGenerator', supplier, 'a function (ctx) => WatermarkGenerator');
    return new WatermarkStrategy<T>({ outOfOrdernessMs: 0, generator: true }, undefined, supplier);
  }

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
    return new WatermarkStrategy<T>(this.spec, assigner, this.generatorSupplier);
  }

  /**
   * Returns this strategy with idleness detection: an input without records
   * for `idleTimeoutMs` is marked idle and does not hold back the watermark.
   */
  withIdleness(idleTimeoutMs: Millis): WatermarkStrategy<T> {
    checkPositiveDuration('withIdleness', idleTimeoutMs);
    return new WatermarkStrategy<T>(
      { ...this.spec, idlenessMs: idleTimeoutMs },
      this.timestampAssigner,
      this.generatorSupplier,
    );
  }

  /**
   * Returns this strategy with watermark alignment (Flink's
   * `withWatermarkAlignment`): every source of `group` whose watermark is
   * more than `maxAllowedWatermarkDriftMs` ahead of the group's smallest
   * stops reading until the others catch up. The sources exchange their
   * watermarks every `updateIntervalMs`. Applies where the strategy is on the
   * source: `fromSource(source, strategy)`, or `assignTimestampsAndWatermarks`
   * chained right behind a source.
   */
  withWatermarkAlignment(
    group: string,
    maxAllowedWatermarkDriftMs: Millis,
    updateIntervalMs: Millis = 1000,
  ): WatermarkStrategy<T> {
    checkNonEmptyString('withWatermarkAlignment group', group);
    checkPositiveDuration('withWatermarkAlignment maxAllowedWatermarkDrift', maxAllowedWatermarkDriftMs);
    checkPositiveDuration('withWatermarkAlignment updateInterval', updateIntervalMs);
    return new WatermarkStrategy<T>(
      {
        ...this.spec,
        alignment: { group, maxDriftMs: maxAllowedWatermarkDriftMs, updateIntervalMs },
      },
      this.timestampAssigner,
      this.generatorSupplier,
    );
  }
}

/** Shorthand for {@link WatermarkStrategy.noWatermarks}. */
export function noWatermarks<T>(): WatermarkStrategy<T> {
  return WatermarkStrategy.noWatermarks<T>();
}
