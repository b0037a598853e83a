// Rolling keyed aggregations in both runtime modes, on graphs built by the real API:
// STREAMING emits every update, BATCH only the final value per key (Flink's batch semantics).
import {
  Aggregations,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type RuntimeMode,
  type StreamExecutionEnvironment,
} from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { StreamNode } from '@freshet/graph';
import { describe, expect, it } from 'vitest';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot } from '../checkpoint/snapshot-codec.js';
import { MAX_WATERMARK, type OperatorSnapshot } from '../operator.js';
import { OperatorHarness } from '../testing/harness.js';

interface Sale {
  shop: string;
  amount: number;
  t: number;
}
const sales: Sale[] = [
  { shop: 'a', amount: 5, t: 1000 },
  { shop: 'b', amount: 2, t: 1500 },
  { shop: 'a', amount: 3, t: 4000 },
  { shop: 'a', amount: 7, t: 2500 },
  { shop: 'b', amount: 1, t: 9000 },
];

async function transforms(
  mode: RuntimeMode,
  build: (env: StreamExecutionEnvironment) => void,
): Promise<StreamNode[]> {
  const graph = await buildStreamGraph((env) => {
    env.setRuntimeMode(mode);
    build(env);
  });
  return graph.nodes.filter((n) => n.kind !== 'source' && n.kind !== 'sink');
}

function harness(mode: RuntimeMode, nodes: StreamNode[]): OperatorHarness {
  return OperatorHarness.chain(nodes, { job: { runtimeMode: mode, autoWatermarkIntervalMs: 0 } });
}

function feed(h: OperatorHarness, records: readonly Sale[]): OperatorHarness {
  for (const r of records) h.processElement(r, r.t);
  return h;
}

function finish(h: OperatorHarness): OperatorHarness {
  h.processWatermark(MAX_WATERMARK);
  h.endInput();
  return h;
}

const sorted = (records: readonly unknown[]): string[] => records.map((r) => JSON.stringify(r)).sort();

const keyed = (env: StreamExecutionEnvironment) => env.fromCollection(sales).keyBy((s) => s.shop);

/** Every rolling aggregation, with the final value per key it must reach. */
const aggregations: [string, (env: StreamExecutionEnvironment) => void, unknown[]][] = [
  [
    'reduce',
    (env) =>
      keyed(env)
        .reduce((x, y) => ({ ...x, amount: x.amount + y.amount }))
        .collect('o'),
    [
      { shop: 'a', amount: 15, t: 1000 },
      { shop: 'b', amount: 3, t: 1500 },
    ],
  ],
  [
    'sum(field)',
    (env) => keyed(env).sum('amount').collect('o'),
    [
      { shop: 'a', amount: 15, t: 1000 },
      { shop: 'b', amount: 3, t: 1500 },
    ],
  ],
  [
    'sum(selector)',
    (env) =>
      keyed(env)
        .sum((s) => s.amount)
        .collect('o'),
    [
      { key: 'a', value: 15 },
      { key: 'b', value: 3 },
    ],
  ],
  [
    'min(field)',
    (env) => keyed(env).min('amount').collect('o'),
    [
      { shop: 'a', amount: 3, t: 1000 },
      { shop: 'b', amount: 1, t: 1500 },
    ],
  ],
  [
    'max(selector)',
    (env) =>
      keyed(env)
        .max((s) => s.amount)
        .collect('o'),
    [
      { key: 'a', value: 7 },
      { key: 'b', value: 2 },
    ],
  ],
  ['minBy', (env) => keyed(env).minBy('amount').collect('o'), [sales[2], sales[4]]],
  [
    'maxBy',
    (env) =>
      keyed(env)
        .maxBy((s) => s.amount)
        .collect('o'),
    [sales[3], sales[1]],
  ],
  [
    'aggregate',
    (env) =>
      keyed(env)
        .aggregate(Aggregations.avg((s: Sale) => s.amount))
        .collect('o'),
    [5, 1.5],
  ],
  [
    'count',
    (env) => keyed(env).count().collect('o'),
    [
      { key: 'a', value: 3 },
      { key: 'b', value: 2 },
    ],
  ],
];

describe('rolling aggregations, STREAMING vs BATCH', () => {
  it.each(aggregations)(
    '%s: STREAMING emits every update, ending at the final values',
    async (_name, build, finals) => {
      const h = finish(feed(harness('STREAMING', await transforms('STREAMING', build)).open(), sales));
      expect(h.values()).toHaveLength(sales.length);
      const last = new Map<string, unknown>();
      h.values().forEach((v, i) => last.set(sales[i]!.shop, v));
      expect([last.get('a'), last.get('b')]).toEqual(finals);
    },
  );

  it.each(aggregations)(
    '%s: BATCH emits only the final value per key, at the end of input',
    async (_name, build, finals) => {
      const h = feed(harness('BATCH', await transforms('BATCH', build)).open(), sales);
      expect(h.values()).toEqual([]);
      finish(h);
      expect(h.values()).toEqual(finals);
      // Each result carries the largest timestamp of its key's records.
      expect(h.records().map((r) => r.timestamp)).toEqual([4000, 9000]);
    },
  );

  it('BATCH emits before the final watermark, so a downstream event-time window still counts the results', async () => {
    const nodes = await transforms('BATCH', (env) => {
      env
        .fromCollection(sales)
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forMonotonousTimestamps<Sale>().withTimestampAssigner((s) => s.t),
        )
        .keyBy((s) => s.shop)
        .sum('amount')
        .windowAll(TumblingEventTimeWindows.of(10_000))
        .aggregate(Aggregations.sum((s: Sale) => s.amount))
        .collect('o');
    });
    expect(nodes.map((n) => n.kind)).toEqual(['timestamps', 'reduce', 'window']);
    const h = finish(feed(harness('BATCH', nodes).open(), sales));
    expect(h.records()).toEqual([{ value: 18, timestamp: 9999 }]);
  });

  it('BATCH state survives a checkpoint mid-input; restored, each key is emitted exactly once', async () => {
    const build = (env: StreamExecutionEnvironment) => keyed(env).sum('amount').collect('o');
    const whole = finish(feed(harness('BATCH', await transforms('BATCH', build)).open(), sales));
    for (let cut = 0; cut <= sales.length; cut++) {
      const firstNodes = await transforms('BATCH', build);
      const first = feed(harness('BATCH', firstNodes).open(), sales.slice(0, cut));
      const encoded = encodeSubtaskSnapshot(new Map([[firstNodes[0]!.id, first.snapshot(cut + 1)]]));
      const restored: OperatorSnapshot[] = [decodeSubtaskSnapshot(encoded).get(firstNodes[0]!.id)!];
      const second = finish(
        feed(harness('BATCH', await transforms('BATCH', build)).open(restored), sales.slice(cut)),
      );
      expect(first.records(), `cut ${cut}`).toEqual([]);
      // Across keys the order follows the restored key groups; per key there is one record.
      expect(sorted(second.records()), `cut ${cut}`).toEqual(sorted(whole.records()));
    }
  });

  it('BATCH forgets the results once emitted: the final snapshot holds nothing to emit again', async () => {
    const nodes = await transforms('BATCH', (env) => keyed(env).sum('amount').collect('o'));
    const h = finish(feed(harness('BATCH', nodes).open(), sales));
    expect(h.values()).toHaveLength(2);
    const restored = harness(
      'BATCH',
      await transforms('BATCH', (env) => keyed(env).sum('amount').collect('o')),
    ).open([h.snapshot(9)]);
    finish(restored);
    expect(restored.values()).toEqual([]);
  });
});
