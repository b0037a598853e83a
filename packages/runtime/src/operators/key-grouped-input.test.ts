// BATCH input grouped by key: a rolling aggregation keeps one accumulator per key while they fit
// its budget and one key at a time past it; a keyed process function sees one key at a time; sorted
// runs spill past the budget, and the results equal the ungrouped BATCH path's.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Aggregations,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { StreamNode } from '@freshet/graph';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_WATERMARK, type StreamOperator } from '../operator.js';
import { decodeKeyGroup } from '../state/disk-store.js';
import { OperatorHarness, testNode } from '../testing/harness.js';
import { createOperator } from './create.js';
import {
  compareKeys,
  isKeyGroupedOperator,
  KeyGroupedInputOperator,
  type KeyGroupedInputOptions,
} from './key-grouped-input.js';

type Ev = { k: string; v: number; seq: number };
/** 40 keys, 25 records each, interleaved (every key is open until the very end without grouping). */
const events: Ev[] = [];
for (let i = 0; i < 1000; i++) events.push({ k: `key-${(i * 7) % 40}`, v: i % 13, seq: i });

async function transform(build: (env: StreamExecutionEnvironment) => void): Promise<StreamNode> {
  const graph = await buildStreamGraph((env) => {
    env.setRuntimeMode('BATCH');
    build(env);
  });
  const node = graph.nodes.find((n) => n.kind !== 'source' && n.kind !== 'sink');
  if (!node) throw new Error('no transform in the graph');
  return node;
}

/** A keyed `sum` in BATCH. */
const sumNode = (): Promise<StreamNode> =>
  transform((env) =>
    env
      .fromCollection(events)
      .keyBy((e) => e.k)
      .sum('v')
      .collect('o'),
  );

/** `node`'s operator reading its input grouped by key. */
function grouped(node: StreamNode, options?: KeyGroupedInputOptions): KeyGroupedInputOperator {
  const inner = createOperator(node);
  if (!isKeyGroupedOperator(inner)) throw new Error(`${node.kind} cannot group its input`);
  return new KeyGroupedInputOperator(inner, options);
}

const BATCH = { job: { runtimeMode: 'BATCH' as const, autoWatermarkIntervalMs: 0 } };

/**
 * A budget about 4 of the test's keys fit (an accumulator is estimated at
 * its key's first record: about 220 bytes with the key and its map entry).
 */
const TINY = { memoryBytes: 1000 };

/** Runs `events` through `node` in BATCH, grouped (with `options`) or as before; returns the harness. */
function run(
  node: StreamNode,
  grouped: false | KeyGroupedInputOptions,
  probe?: (op: StreamOperator) => void,
): { h: OperatorHarness; op: StreamOperator; spilledRuns: number } {
  const inner = createOperator(node);
  let op: StreamOperator = inner;
  if (grouped !== false) {
    if (!isKeyGroupedOperator(inner)) throw new Error(`${node.kind} cannot group its input`);
    op = new KeyGroupedInputOperator(inner, grouped);
  }
  probed = () => probe?.(inner);
  const h = new OperatorHarness([node], BATCH, [op]).open();
  for (const e of events) h.processElement(e, 1000 + e.seq);
  h.processWatermark(5000);
  h.processWatermark(MAX_WATERMARK);
  h.endInput();
  h.close();
  return { h, op, spilledRuns: op instanceof KeyGroupedInputOperator ? op.spilledRuns : 0 };
}

/** Called by the user functions below on every record (set per run). */
let probed: () => void = () => undefined;

/** Distinct keys the operator's keyed state holds right now (from a snapshot, as a checkpoint would see it). */
function keysHeld(op: StreamOperator): number {
  const keys = new Set<unknown>();
  for (const group of Object.values(op.snapshotState(1).keyed ?? {})) {
    for (const entries of Object.values(decodeKeyGroup(group) ?? {})) {
      for (const [key] of entries) keys.add(key);
    }
  }
  return keys.size;
}

const sorted = (h: OperatorHarness): string[] =>
  h
    .records()
    .map((r) => JSON.stringify(r))
    .sort();

let spillDir: string | undefined;
afterEach(() => {
  if (spillDir) rmSync(spillDir, { recursive: true, force: true });
  spillDir = undefined;
});

describe('BATCH keyed input grouped by key', () => {
  const aggregations: [string, (env: StreamExecutionEnvironment) => void][] = [
    [
      'reduce',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .reduce((a, b) => {
            probed();
            return { ...a, v: a.v + b.v, seq: b.seq };
          })
          .collect('o'),
    ],
    [
      'sum',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .sum('v')
          .collect('o'),
    ],
    [
      'min',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .min('v')
          .collect('o'),
    ],
    [
      'max',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .max('v')
          .collect('o'),
    ],
    [
      'minBy',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .minBy('v')
          .collect('o'),
    ],
    [
      'maxBy',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .maxBy('v')
          .collect('o'),
    ],
    [
      'count',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .count()
          .collect('o'),
    ],
    [
      'aggregate',
      (env) =>
        env
          .fromCollection(events)
          .keyBy((e) => e.k)
          .aggregate(Aggregations.avg((e: Ev) => e.v))
          .collect('o'),
    ],
  ];

  it.each(aggregations)(
    '%s: the same final records (values and timestamps) as the ungrouped path, within the budget and past it',
    async (_, build) => {
      const node = await transform(build);
      const before = run(node, false).h;
      expect(before.records()).toHaveLength(40);
      const hashed = run(node, {});
      expect(hashed.spilledRuns).toBe(0);
      expect(sorted(hashed.h)).toEqual(sorted(before));
      const spilled = run(node, TINY);
      expect(spilled.spilledRuns).toBeGreaterThan(0);
      expect(sorted(spilled.h)).toEqual(sorted(before));
    },
  );

  it('holds the accumulators the budget allows, then one key at a time (the ungrouped path holds every key)', async () => {
    const node = await transform(aggregations[0]![1]);
    let most = 0;
    const probe = (op: StreamOperator) => {
      most = Math.max(most, keysHeld(op));
    };
    run(node, false, probe);
    expect(most).toBe(40);
    // Within the budget: one accumulator per key, as without grouping (it fits).
    most = 0;
    run(node, {}, probe);
    expect(most).toBe(40);
    // Past it: never more keys than fit the budget (the 5th record, a 5th key, passes it); from then on
    // the records are buffered, and the merge folds them one key at a time.
    const reduce = createOperator(node);
    if (!isKeyGroupedOperator(reduce)) throw new Error('reduce cannot group its input');
    const op = new KeyGroupedInputOperator(reduce, TINY);
    const h = new OperatorHarness([node], BATCH, [op]).open();
    const whileReading: number[] = [];
    for (const e of events) {
      h.processElement(e, 1000 + e.seq);
      whileReading.push(keysHeld(reduce));
    }
    expect(Math.max(...whileReading)).toBeGreaterThan(1);
    expect(Math.max(...whileReading)).toBeLessThanOrEqual(5);
    expect(whileReading.at(-1)).toBe(0);
    const inMerge: number[] = [];
    probed = () => inMerge.push(keysHeld(reduce));
    h.processWatermark(MAX_WATERMARK);
    h.endInput();
    expect(op.spilledRuns).toBeGreaterThan(0);
    expect(inMerge).toHaveLength(960);
    expect(inMerge.every((n) => n === 1)).toBe(true);
    expect(h.records()).toHaveLength(40);
    // Nothing is left behind once every key is done.
    expect(keysHeld(reduce)).toBe(0);
  });

  it('a keyed process function without onTimer sees one key at a time and its state is dropped per key', async () => {
    const node = await transform((env) =>
      env
        .fromCollection(events)
        .keyBy((e) => e.k)
        .process(
          new (class {
            private total: ValueState<number> | undefined;
            open(rc: RuntimeContext): void {
              this.total = rc.getState(new ValueStateDescriptor<number>('total', 0));
            }
            processElement(e: Ev, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
              const t = (this.total!.value() ?? 0) + e.v;
              this.total!.update(t);
              probed();
              if (e.seq >= 960) out.collect(`${ctx.getCurrentKey()}=${t}`);
            }
          })(),
        )
        .collect('o'),
    );
    let most = 0;
    let last: StreamOperator | undefined;
    const probe = (op: StreamOperator) => {
      last = op;
      most = Math.max(most, keysHeld(op));
    };
    const before = run(node, false, probe).h;
    expect(most).toBe(40);
    most = 0;
    const after = run(node, {}, probe).h;
    expect(most).toBe(1);
    expect(keysHeld(last!)).toBe(0);
    expect(after.values<string>().sort()).toEqual(before.values<string>().sort());
    expect(after.values()).toHaveLength(40);
  });

  it('a keyed process function with onTimer, and non-keyed operators, keep reading their input as it comes', () => {
    const withTimer = testNode({
      kind: 'keyedProcess',
      keyed: true,
      fns: { key: (e: never) => (e as Ev).k, fn: { processElement() {}, onTimer() {} } },
    });
    const withoutTimer = testNode({
      kind: 'keyedProcess',
      keyed: true,
      fns: { key: (e: never) => (e as Ev).k, fn: { processElement() {} } },
    });
    expect(isKeyGroupedOperator(createOperator(withTimer))).toBe(false);
    expect(isKeyGroupedOperator(createOperator(withoutTimer))).toBe(true);
    expect(
      isKeyGroupedOperator(createOperator(testNode({ kind: 'map', fns: { fn: (x: unknown) => x } }))),
    ).toBe(false);
  });

  it('spills sorted runs past a tiny budget, merges them, keeps arrival order within a key, and removes the files', async () => {
    spillDir = mkdtempSync(join(tmpdir(), 'freshet-grouped-test-'));
    // A reduce that is not commutative: the sequence of a key's records, in the order the operator saw them.
    const node = await transform((env) =>
      env
        .fromCollection(events.map((e) => ({ k: e.k, seqs: [e.seq] })))
        .keyBy((e) => e.k)
        .reduce((a, b) => ({ k: a.k, seqs: [...a.seqs, ...b.seqs] }))
        .collect('o'),
    );
    const op = grouped(node, { memoryBytes: 4096, dir: spillDir });
    const h = new OperatorHarness([node], BATCH, [op]).open();
    for (const e of events) h.processElement({ k: e.k, seqs: [e.seq] }, e.seq);
    const dirDuringRun = readdirSync(spillDir);
    h.processWatermark(MAX_WATERMARK);
    h.endInput();
    expect(op.spilledRuns).toBeGreaterThan(5);
    expect(dirDuringRun).toHaveLength(1);
    expect(readdirSync(spillDir)).toEqual([]);
    const out = h.values<{ k: string; seqs: number[] }>();
    expect(out).toHaveLength(40);
    for (const r of out) {
      expect(r.seqs).toEqual(events.filter((e) => e.k === r.k).map((e) => e.seq));
    }
    // Output comes key by key in key order, each key once.
    const keys = out.map((r) => r.k);
    expect(keys).toEqual([...keys].sort(compareKeys));
    expect(existsSync(join(spillDir, dirDuringRun[0]!))).toBe(false);
  });

  it('drains in slices on the task thread when the host asks finishPending, then passes +Infinity on in endInput', async () => {
    const node = await sumNode();
    const before = run(node, false).h;
    const op = grouped(node, TINY);
    const h = new OperatorHarness([node], BATCH, [op]).open();
    for (const e of events) h.processElement(e, 1000 + e.seq);
    h.processWatermark(MAX_WATERMARK);
    let done = false;
    expect(
      op.finishPending(() => {
        done = true;
      }),
    ).toBe(true);
    // Nothing happens inside the call: the drain runs in processing-time callbacks of the task.
    expect(h.records()).toEqual([]);
    expect(h.clock.numScheduled()).toBe(1);
    h.clock.advanceTo(h.clock.now());
    expect(done).toBe(true);
    expect(h.watermarks()).toEqual([]);
    h.endInput();
    expect(h.watermarks()).toEqual([MAX_WATERMARK]);
    expect(sorted(h)).toEqual(sorted(before));
    // Nothing left to drain: a second end of input has no pending work.
    expect(op.finishPending(() => undefined)).toBe(false);
  });

  it('holds back watermarks below +Infinity so no buffered record is late downstream', async () => {
    const node = await sumNode();
    const { h } = run(node, {});
    expect(h.output.watermarks).toEqual([MAX_WATERMARK]);
  });

  it('refuses a checkpoint while input is buffered or spilled instead of losing it', async () => {
    const node = await sumNode();
    // Within the budget the accumulators are the operator's own state, which a checkpoint takes.
    const hashed = new OperatorHarness([node], BATCH, [grouped(node)]).open();
    hashed.processElement(events[0], 0);
    expect(Object.keys(hashed.head.snapshotState(1).keyed ?? {})).toHaveLength(1);
    const spilled = new OperatorHarness([node], BATCH, [grouped(node, { memoryBytes: 1 })]).open();
    spilled.processElement(events[0], 0);
    expect(() => spilled.head.snapshotState(1)).toThrow(/cannot checkpoint buffered input/);
  });

  it('spills and merges numeric and string keys in one order (strings sort natively, mixed keys by compareKeys)', async () => {
    const mixed = events.map((e, i) => ({ k: i % 3 === 0 ? (i * 7) % 40 : e.k, seqs: [e.seq] }));
    const node = await transform((env) =>
      env
        .fromCollection(mixed)
        .keyBy((e) => e.k)
        .reduce((a, b) => ({ k: a.k, seqs: [...a.seqs, ...b.seqs] }))
        .collect('o'),
    );
    const op = grouped(node, { memoryBytes: 4096 });
    const h = new OperatorHarness([node], BATCH, [op]).open();
    for (const e of mixed) h.processElement(e, e.seqs[0]);
    h.processWatermark(MAX_WATERMARK);
    h.endInput();
    expect(op.spilledRuns).toBeGreaterThan(5);
    const out = h.values<{ k: string | number; seqs: number[] }>();
    const keys = out.map((r) => r.k);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => typeof k === 'number').length).toBeGreaterThan(10);
    expect(keys).toEqual([...keys].sort(compareKeys));
    for (const r of out) expect(r.seqs).toEqual(mixed.filter((e) => e.k === r.k).map((e) => e.seqs[0]));
  });

  it('orders keys totally: numbers before strings, NaN first among numbers', () => {
    expect([3, 'b', Number.NaN, 'a', -1].sort(compareKeys)).toEqual([Number.NaN, -1, 3, 'a', 'b']);
  });
});
