/**
 * `assignTimestampsAndWatermarks`: sets each record's timestamp with the
 * user's assigner (records keep theirs without one) and emits
 * bounded-out-of-orderness watermarks (`maxTimestamp - outOfOrderness - 1`)
 * every `autoWatermarkIntervalMs` of processing time, only when they
 * advanced — or, with `WatermarkStrategy.forGenerator`, what the user's
 * generator emits from `onEvent` (punctuated) and `onPeriodicEmit` (every
 * interval), again only advancing ones. With `idlenessMs` the output is
 * marked idle when no record arrived for that long. The highest timestamp
 * seen is operator state: after a restore the first tick emits the
 * watermark the subtask had reached, instead of waiting for records to
 * build it up again.
 */
import type { WatermarkGenerator, WatermarkGeneratorSupplier, WatermarkOutput } from '@freshet/api';
import { MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP, type OperatorSnapshot } from '../operator.js';
import { OperatorUsageError } from './errors.js';
import { AbstractOperator } from './base.js';

/** Assigns timestamps and generates periodic watermarks. */
export class TimestampsAndWatermarksOperator extends AbstractOperator {
  private assign!: (value: unknown, previous: number | undefined) => number;
  private outOfOrderness = 0;
  private idlenessMs = 0;
  private intervalMs = 0;
  private noWatermarks = false;
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  private lastEmitted = MIN_WATERMARK;
  private recordsSinceTick = 0;
  private lastActive = 0;
  private idle = false;
  private cancelTick: (() => void) | undefined;
  /** A custom generator, with the output it emits into. */
  private generator: WatermarkGenerator<unknown> | undefined;
  private readonly generatorOutput: WatermarkOutput = {
    emitWatermark: (watermark) => {
      this.emitAdvancing(watermark);
    },
    markIdle: () => {
      this.setIdle(true);
    },
    markActive: () => {
      this.setIdle(false);
    },
  };
  private readonly tickBound = (time: number): void => {
    this.tick(time);
  };

  protected setup(): void {
    const assigner = this.node.fns.timestampAssigner;
    if (assigner === undefined) {
      // No assigner: records keep the timestamps they carry (from a source, or an earlier assigner).
      this.assign = keepTimestamp;
    } else {
      if (typeof assigner !== 'function') {
        throw new OperatorUsageError(`Operator '${this.name}': the timestamp assigner must be a function`);
      }
      this.assign = assigner as (value: unknown, previous: number | undefined) => number;
      this.addRichFunction(assigner);
    }
    const spec = this.node.spec.watermarks ?? { outOfOrdernessMs: 0 };
    if (spec.generator === true) {
      const supplier = this.node.fns.watermarkGenerator;
      if (typeof supplier !== 'function') {
        throw new OperatorUsageError(
          `Operator '${this.name}': WatermarkStrategy.forGenerator needs a generator factory`,
        );
      }
      try {
        this.generator = (supplier as WatermarkGeneratorSupplier<unknown>)({
          getMetricGroup: () => this.getRuntimeContext().getMetricGroup(),
        });
      } catch (error) {
        this.fail(error, 'watermark generator factory');
      }
      const g = this.generator as Partial<WatermarkGenerator<unknown>> | undefined;
      if (typeof g?.onEvent !== 'function' || typeof g.onPeriodicEmit !== 'function') {
        throw new OperatorUsageError(
          `Operator '${this.name}': the watermark generator factory must return an object with onEvent and onPeriodicEmit`,
        );
      }
      this.addRichFunction(this.generator);
    }
    this.outOfOrderness = spec.outOfOrdernessMs;
    this.idlenessMs = spec.idlenessMs ?? 0;
    // WatermarkStrategy.noWatermarks(): timestamps only, no watermarks (the final +Infinity still passes).
    this.noWatermarks = (spec as { none?: boolean }).none === true;
    this.intervalMs = this.noWatermarks ? 0 : this.ctx.job.autoWatermarkIntervalMs;
    const now = this.ctx.processingTime.now();
    this.lastActive = now;
    const period = this.tickPeriod();
    if (period > 0) this.cancelTick = this.ctx.processingTime.schedule(now + period, this.tickBound);
  }

  private tickPeriod(): number {
    const candidates = [this.intervalMs, this.idlenessMs].filter((p) => p > 0);
    return candidates.length > 0 ? Math.min(...candidates) : 0;
  }

  processElement(value: unknown, timestamp: number): void {
    let ts: number;
    try {
      ts = this.assign(value, timestamp === NO_TIMESTAMP ? undefined : timestamp);
    } catch (error) {
      this.fail(error, 'timestampAssigner');
    }
    if (this.idle) this.setIdle(false);
    this.recordsSinceTick++;
    const generator = this.generator;
    if (generator !== undefined) {
      // The record goes out before what its event makes the generator emit (a punctuated watermark follows its record).
      this.output.collect(value, ts);
      if (ts > this.maxTimestamp) this.maxTimestamp = ts;
      try {
        generator.onEvent(value, ts, this.generatorOutput);
      } catch (error) {
        this.fail(error, 'watermark generator onEvent');
      }
      return;
    }
    if (ts > this.maxTimestamp) {
      this.maxTimestamp = ts;
      // Without a periodic interval watermarks follow every advance.
      if (this.intervalMs <= 0 && !this.noWatermarks) this.emitIfAdvanced();
    }
    this.output.collect(value, ts);
  }

  private emitIfAdvanced(): void {
    this.emitAdvancing(this.maxTimestamp - this.outOfOrderness - 1);
  }

  /** Emits `wm` if it advances past the last emitted (and the final +Infinity has not passed yet). */
  private emitAdvancing(wm: number): void {
    if (this.noWatermarks || this.lastEmitted === MAX_WATERMARK || !(wm > this.lastEmitted)) return;
    if (this.idle) this.setIdle(false);
    this.lastEmitted = wm;
    this.output.emitWatermark(wm);
  }

  private setIdle(idle: boolean): void {
    if (idle === this.idle) return;
    this.idle = idle;
    this.output.markIdle(idle);
  }

  private tick(time: number): void {
    this.cancelTick = undefined;
    if (this.lastEmitted === MAX_WATERMARK) return;
    if (this.intervalMs > 0) {
      if (this.generator === undefined) this.emitIfAdvanced();
      else {
        try {
          this.generator.onPeriodicEmit(this.generatorOutput);
        } catch (error) {
          this.fail(error, 'watermark generator onPeriodicEmit');
        }
      }
    }
    if (this.recordsSinceTick > 0) {
      this.recordsSinceTick = 0;
      this.lastActive = time;
    } else if (this.idlenessMs > 0 && !this.idle && time - this.lastActive >= this.idlenessMs) {
      this.setIdle(true);
    }
    const period = this.tickPeriod();
    this.cancelTick = this.ctx.processingTime.schedule(time + period, this.tickBound);
  }

  /** Upstream watermarks are replaced by this operator's own, except the final +Infinity. */
  override processWatermark(watermark: number): void {
    if (watermark !== MAX_WATERMARK || this.lastEmitted === MAX_WATERMARK) return;
    this.lastEmitted = MAX_WATERMARK;
    this.cancelTick?.();
    this.cancelTick = undefined;
    if (this.idle) this.setIdle(false);
    this.output.emitWatermark(MAX_WATERMARK);
  }

  protected override snapshotOperatorState(): unknown {
    return this.maxTimestamp === Number.NEGATIVE_INFINITY ? undefined : { maxTimestamp: this.maxTimestamp };
  }

  protected override restoreOperatorState(restored: readonly OperatorSnapshot[]): void {
    // After a rescale several former subtasks' progress may land here: the lowest is the safe one.
    let max = Number.POSITIVE_INFINITY;
    for (const s of restored) {
      const t = (s.operator as { maxTimestamp?: unknown } | undefined)?.maxTimestamp;
      max = Math.min(max, typeof t === 'number' ? t : Number.NEGATIVE_INFINITY);
    }
    if (max !== Number.POSITIVE_INFINITY) this.maxTimestamp = max;
  }

  override close(): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
    super.close();
  }
}

/** The assigner of a strategy without one: the record's own timestamp. */
function keepTimestamp(_value: unknown, previous: number | undefined): number {
  return previous ?? NO_TIMESTAMP;
}
