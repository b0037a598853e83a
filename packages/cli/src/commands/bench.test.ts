import { describe, expect, it } from 'vitest';
import { benchMarkdown, runBaseline, runBench } from './bench.js';

describe('freshet bench', () => {
  it('measures a query against its baseline', async () => {
    const results = await runBench({ events: 20_000, queries: ['q2'], parallelisms: [1] });
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r).toMatchObject({ query: 'q2', parallelism: 1, events: 20_000 });
    expect(r.cpuSeconds).toBeGreaterThan(0);
    expect(r.seconds).toBeGreaterThan(0);
    expect(Math.abs((r.eventsPerCpuSecond * r.cpuSeconds) / 20_000 - 1)).toBeLessThan(0.02);
    expect(r.ratioToBaseline).toBeCloseTo(r.eventsPerCpuSecond / r.baselineEventsPerCpuSecond, 2);
    expect(Object.keys(r)).toEqual([
      'query',
      'parallelism',
      'events',
      'seconds',
      'cpuSeconds',
      'eventsPerSecond',
      'eventsPerCpuSecond',
      'baselineEventsPerCpuSecond',
      'ratioToBaseline',
    ]);
    expect(benchMarkdown(results).split('\n')).toHaveLength(3);
  });

  it('runs the hand-written baselines', async () => {
    expect(runBaseline('q2', 50_000).outputs).toBeGreaterThan(0);
    await expect(runBench({ events: 10, queries: ['q6'], parallelisms: [1] })).rejects.toThrow(/q6/);
  });
});
