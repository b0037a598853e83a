// Runs graphs built by the real DataStream API (@freshet/api) through the
// operators, chained in the harness, to check the two sides of the contract agree.
import {
  CountTrigger,
  OutputTag,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type StreamExecutionEnvironment,
} from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { StreamNode } from '@freshet/graph';
import { describe, expect, it } from 'vitest';
import { MAX_WATERMARK } from '../operator.js';
import { OperatorHarness } from '../testing/harness.js';

type Sale = { shop: string; amount: number; t: number };
const sales: Sale[] = [
  { shop: 'a', amount: 5, t: 1000 },
  { shop: 'b', amount: 2, t: 1500 },
  { shop: 'a', amount: 3, t: 4000 },
  { shop: 'a', amount: 7, t: 6500 },
  { shop: 'b', amount: 1, t: 9000 },
];

/** The transform nodes of a single pipeline, in creation order (sources and sinks left to the task). */
async function transforms(build: (env: StreamExecutionEnvironment) => void): Promise<StreamNode[]> {
  const graph = await buildStreamGraph((env) => {
    build(env);
  });
  return graph.nodes.filter((n) => n.kind !== 'source' && n.kind !== 'sink');
}

function run(nodes: StreamNode[], records: readonly Sale[]): OperatorHarness {
  const h = OperatorHarness.chain(nodes, { job: { autoWatermarkIntervalMs: 0 } }).open();
  for (const r of records) h.processElement(r);
  h.processWatermark(MAX_WATERMARK);
  h.endInput();
  return h;
}

describe('graphs built by @freshet/api', () => {
  it('timestamps -> keyBy -> tumbling window reduce', async () => {
    const nodes = await transforms((env) => {
      env
        .fromElements(...sales)
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forMonotonousTimestamps<Sale>().withTimestampAssigner((s) => s.t),
        )
        .keyBy((s) => s.shop)
        .window(TumblingEventTimeWindows.of(5000))
        .reduce((x, y) => ({ shop: x.shop, amount: x.amount + y.amount, t: y.t }))
        .collect('out');
    });
    expect(nodes.map((n) => n.kind)).toEqual(['timestamps', 'window']);
    const h = run(nodes, sales);
    expect(h.records().map((r) => [r.value, r.timestamp])).toEqual([
      [{ shop: 'a', amount: 8, t: 4000 }, 4999],
      [{ shop: 'b', amount: 2, t: 1500 }, 4999],
      [{ shop: 'a', amount: 7, t: 6500 }, 9999],
      [{ shop: 'b', amount: 1, t: 9000 }, 9999],
    ]);
  });

  it('map -> filter -> keyed rolling sum', async () => {
    const nodes = await transforms((env) => {
      env
        .fromElements(...sales)
        .map((s) => ({ ...s, amount: s.amount * 10 }))
        .filter((s) => s.amount > 10)
        .keyBy((s) => s.shop)
        .sum('amount')
        .collect('out');
    });
    const h = run(nodes, sales);
    expect(h.values<Sale>().map((s) => `${s.shop}:${s.amount}`)).toEqual(['a:50', 'b:20', 'a:80', 'a:150']);
  });

  it('sliding windows with a count trigger and a late side output', async () => {
    const late = new OutputTag<Sale>('late');
    const nodes = await transforms((env) => {
      const windowed = env
        .fromElements(...sales)
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forMonotonousTimestamps<Sale>().withTimestampAssigner((s) => s.t),
        )
        .keyBy((s) => s.shop)
        .window(SlidingEventTimeWindows.of(10_000, 5000))
        .trigger(CountTrigger.of(2))
        .sideOutputLateData(late)
        .reduce((x, y) => ({ shop: x.shop, amount: x.amount + y.amount, t: y.t }));
      windowed.collect('out');
      windowed.getSideOutput(late).collect('late');
    });
    const tooLate = { shop: 'c', amount: 9, t: -1 }; // its windows ended before the watermark 8999
    const h = run(nodes, [...sales, tooLate]);
    // Every window fires at its 2nd element: a@1000 and a@4000 share [-5000,5000) and [0,10000);
    // b@1500 and b@9000 share [0,10000). The count restarts after each firing.
    expect(h.values<Sale>().map((s) => `${s.shop}:${s.amount}`)).toEqual(['a:8', 'a:8', 'b:3']);
    expect(h.sideValues('late')).toEqual([tooLate]);
  });
});
