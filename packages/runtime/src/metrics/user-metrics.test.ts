import {
  AverageAccumulator,
  CustomAccumulator,
  HistogramAccumulator,
  IntCounter,
  ListAccumulator,
  MaximumAccumulator,
  MinimumAccumulator,
  type AccumulatorValue,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { mergeAccumulators } from './accumulators.js';
import { SubtaskMetricRegistry } from './user-metrics.js';

describe('user metrics', () => {
  it('samples counters, gauges, meters and histograms under the operator scope', () => {
    let now = 1_000;
    const registry = new SubtaskMetricRegistry({ now: () => now });
    const group = registry.operatorGroup('enrich');
    const hits = group.addGroup('cache').counter('hits');
    let queue = 3;
    group.gauge('queue', () => queue);
    const events = group.meter('events', { timeSpanSeconds: 10 });
    const latency = group.histogram('latency', { windowSize: 100 });
    hits.inc();
    hits.inc(4);
    hits.dec();
    for (let i = 1; i <= 200; i++) latency.update(i);
    events.markEvent(50);
    now += 5_000;
    queue = 7;
    const s = registry.sampleMetrics();
    expect(s.find((m) => m.name === 'hits')).toEqual({
      scope: ['enrich', 'cache'],
      name: 'hits',
      type: 'counter',
      value: 4,
    });
    expect(s.find((m) => m.name === 'queue')).toEqual({
      scope: ['enrich'],
      name: 'queue',
      type: 'gauge',
      value: 7,
    });
    expect(s.find((m) => m.name === 'events')).toEqual({
      scope: ['enrich'],
      name: 'events',
      type: 'meter',
      count: 50,
      rate: 10,
    });
    const h = s.find((m) => m.name === 'latency');
    // The window holds the 100 most recent values: 101..200.
    expect(h).toMatchObject({ type: 'histogram', count: 200, min: 101, max: 200, mean: 150.5 });
    expect(h?.type === 'histogram' && h.p50).toBeCloseTo(150.5);
    expect(h?.type === 'histogram' && h.p99).toBeCloseTo(199.99);
  });

  it("a meter's rate covers its time span", () => {
    let now = 0;
    const registry = new SubtaskMetricRegistry({ now: () => now });
    const m = registry.operatorGroup('op').meter('m', { timeSpanSeconds: 2 });
    const rates: number[] = [];
    for (let second = 1; second <= 6; second++) {
      m.markEvent(second <= 3 ? 100 : 10);
      now = second * 1000;
      registry.sampleMetrics();
      rates.push(Math.round(m.getRate()));
    }
    // 100/s for three seconds, then 10/s: after two seconds at the new rate the span holds only it.
    expect(rates).toEqual([100, 100, 100, 55, 10, 10]);
  });

  it('leaves out gauges that throw or read no finite number, and refuses duplicate or malformed names', () => {
    const registry = new SubtaskMetricRegistry();
    const g = registry.operatorGroup('op');
    g.gauge('broken', () => {
      throw new Error('no');
    });
    g.gauge('nan', () => Number.NaN);
    g.counter('ok');
    expect(registry.sampleMetrics().map((m) => m.name)).toEqual(['ok']);
    expect(() => g.counter('ok')).toThrow(/'op.ok' is registered twice/);
    expect(() => g.counter('no spaces')).toThrow(/is not valid/);
    // Another operator may use the same name.
    expect(() => registry.operatorGroup('other').counter('ok')).not.toThrow();
  });
});

describe('accumulators', () => {
  it('merges the built-in kinds across subtasks by name', () => {
    const parts = [0, 1].map((i) => {
      const registry = new SubtaskMetricRegistry();
      const count = new IntCounter();
      const avg = new AverageAccumulator();
      const hist = new HistogramAccumulator();
      const list = new ListAccumulator<string>();
      const min = new MinimumAccumulator();
      const max = new MaximumAccumulator();
      registry.addAccumulator('count', count);
      registry.addAccumulator('avg', avg);
      registry.addAccumulator('hist', hist);
      registry.addAccumulator('list', list);
      registry.addAccumulator('min', min);
      registry.addAccumulator('max', max);
      for (let v = i * 10; v < i * 10 + 4; v++) {
        count.add(1);
        avg.add(v);
        hist.add(v % 2);
        list.add(`s${i}v${v}`);
        min.add(v);
        max.add(v);
      }
      return registry.sampleAccumulators();
    });
    expect(mergeAccumulators(parts)).toEqual({
      results: {
        count: 8,
        avg: (0 + 1 + 2 + 3 + 10 + 11 + 12 + 13) / 8,
        hist: { '0': 4, '1': 4 },
        list: ['s0v0', 's0v1', 's0v2', 's0v3', 's1v10', 's1v11', 's1v12', 's1v13'],
        min: 0,
        max: 13,
      },
      conflicts: [],
    });
  });

  it('reports custom accumulators per subtask, and names whose kinds disagree as conflicts', () => {
    class Longest extends CustomAccumulator<string, string> {
      private best = '';
      add(value: string): void {
        if (value.length > this.best.length) this.best = value;
      }
      getLocalValue(): string {
        return this.best;
      }
      resetLocal(): void {
        this.best = '';
      }
    }
    const a = new Longest();
    a.add('ab');
    a.add('abcd');
    const b = new Longest();
    b.add('xyz');
    const parts: Record<string, AccumulatorValue>[] = [
      { longest: a.toValue(), mixed: { kind: 'sum', value: 1 } },
      { longest: b.toValue(), mixed: { kind: 'max', value: 1 } },
    ];
    expect(mergeAccumulators(parts)).toEqual({ results: { longest: ['abcd', 'xyz'] }, conflicts: ['mixed'] });
  });

  it('refuses a second accumulator of one name and a value that is not an accumulator', () => {
    const registry = new SubtaskMetricRegistry();
    registry.addAccumulator('n', new IntCounter());
    expect(() => {
      registry.addAccumulator('n', new IntCounter());
    }).toThrow(/'n' already exists/);
    expect(() => {
      registry.addAccumulator('x', {} as never);
    }).toThrow(/expects an Accumulator/);
  });
});
