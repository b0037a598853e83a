import { describe, expect, it } from 'vitest';
import { Aggregations } from './aggregations.js';
import type { AggregateFunction } from './functions.js';
import { WatermarkStrategy, noWatermarks } from './watermarks.js';

/** Folds `values` into one accumulator, or into two merged halves. */
function run<IN, ACC, OUT>(fn: AggregateFunction<IN, ACC, OUT>, values: IN[], split = false): OUT {
  const fold = (vs: IN[]) => vs.reduce((acc, v) => fn.add(v, acc), fn.createAccumulator());
  if (!split) return fn.getResult(fold(values));
  const mid = Math.floor(values.length / 2);
  return fn.getResult(fn.merge(fold(values.slice(0, mid)), fold(values.slice(mid))));
}

describe('Aggregations', () => {
  const xs = [{ v: 4 }, { v: -2 }, { v: 10 }, { v: 0 }];
  const v = (x: { v: number }) => x.v;
  it.each([false, true])('count, sum, min, max, avg (merged: %s)', (split) => {
    expect(run(Aggregations.count(), xs, split)).toBe(4);
    expect(run(Aggregations.sum(v), xs, split)).toBe(12);
    expect(run(Aggregations.min(v), xs, split)).toBe(-2);
    expect(run(Aggregations.max(v), xs, split)).toBe(10);
    expect(run(Aggregations.avg(v), xs, split)).toBe(3);
  });
  it('empty inputs', () => {
    expect(run(Aggregations.sum(v), [])).toBe(0);
    expect(run(Aggregations.avg(v), [])).toBeNaN();
  });
  it('refuse a selector that is not a function', () => {
    expect(() => Aggregations.sum('v' as never)).toThrow(
      "Aggregations.sum expects a function returning a number (got 'v')",
    );
  });
});

describe('WatermarkStrategy', () => {
  it('builds the spec immutably', () => {
    const base = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(100);
    const assigner = (x: { t: number }) => x.t;
    const full = base.withTimestampAssigner(assigner).withIdleness(5000);
    expect(base.spec).toEqual({ outOfOrdernessMs: 100 });
    expect(base.timestampAssigner).toBeUndefined();
    expect(full.spec).toEqual({ outOfOrdernessMs: 100, idlenessMs: 5000 });
    expect(full.timestampAssigner).toBe(assigner);
    expect(WatermarkStrategy.forMonotonousTimestamps().spec).toEqual({ outOfOrdernessMs: 0 });
    expect(noWatermarks().spec).toEqual({ outOfOrdernessMs: 0, none: true });
  });
  it('refuses bad durations', () => {
    expect(() => WatermarkStrategy.forBoundedOutOfOrderness(-1)).toThrow(
      'WatermarkStrategy.forBoundedOutOfOrderness expects a non-negative integer (got -1)',
    );
    expect(() => WatermarkStrategy.forMonotonousTimestamps().withIdleness(0)).toThrow(
      'withIdleness expects a duration in milliseconds > 0 (got 0)',
    );
  });
  it('withWatermarkAlignment adds the group, drift and update interval, keeping the rest', () => {
    const assigner = (x: { t: number }) => x.t;
    const s = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(100)
      .withTimestampAssigner(assigner)
      .withWatermarkAlignment('clicks', 5_000);
    expect(s.spec).toEqual({
      outOfOrdernessMs: 100,
      alignment: { group: 'clicks', maxDriftMs: 5_000, updateIntervalMs: 1000 },
    });
    expect(s.timestampAssigner).toBe(assigner);
    expect(s.withWatermarkAlignment('clicks', 10, 50).spec.alignment).toEqual({
      group: 'clicks',
      maxDriftMs: 10,
      updateIntervalMs: 50,
    });
    expect(() => s.withWatermarkAlignment('', 10)).toThrow('withWatermarkAlignment group');
    expect(() => s.withWatermarkAlignment('g', 0)).toThrow(
      'withWatermarkAlignment maxAllowedWatermarkDrift expects a duration in milliseconds > 0 (got 0)',
    );
  });
});
