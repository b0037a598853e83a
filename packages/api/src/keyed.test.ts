import { describe, expect, it } from 'vitest';
import { Aggregations, StreamExecutionEnvironment, type AggregateFunction } from './index.js';
import { buildStreamGraph } from './internal.js';
import type { StreamGraph, StreamNode } from '@freshet/graph';

interface Sale {
  shop: string;
  amount: number;
  qty: number;
}
const sales: Sale[] = [
  { shop: 'a', amount: 5, qty: 1 },
  { shop: 'a', amount: 3, qty: 7 },
  { shop: 'a', amount: 9, qty: 2 },
];

/** Plans `build` on a keyed stream of sales and returns the keyed node (node 2). */
async function keyedNode(build: (s: ReturnType<typeof keyed>) => { print(): unknown }): Promise<StreamNode> {
  const graph: StreamGraph = await buildStreamGraph((env) => void build(keyed(env)).print());
  return graph.nodes[1]!;
}
const keyed = (env: StreamExecutionEnvironment) => env.fromCollection(sales).keyBy((s) => s.shop);

/** Runs a rolling reduce as the runtime would: emits the running result after each record. */
function rollReduce(node: StreamNode, values: readonly unknown[]): unknown[] {
  const reduce = node.fns.reduce as (a: unknown, b: unknown) => unknown;
  const out: unknown[] = [];
  let acc: unknown;
  values.forEach((v, i) => out.push((acc = i === 0 ? v : reduce(acc, v))));
  return out;
}
/** Runs a rolling aggregate as the runtime would. */
function rollAggregate(node: StreamNode, values: readonly unknown[]): unknown[] {
  const fn = node.fns.aggregate as AggregateFunction<unknown, unknown, unknown>;
  let acc = fn.createAccumulator();
  return values.map((v) => fn.getResult((acc = fn.add(v, acc))));
}

describe('keyBy', () => {
  it('creates no node: HASH edge into the consumer, selector in fns.key, consumer keyed', async () => {
    const selector = (s: Sale) => s.shop;
    const reduce = (a: Sale, b: Sale) => ({ ...a, amount: a.amount + b.amount });
    const graph = await buildStreamGraph((env) => {
      env.fromCollection(sales).keyBy(selector).reduce(reduce).print();
    });
    expect(graph.nodes.map((n) => n.kind)).toEqual(['source', 'reduce', 'sink']);
    expect(graph.edges).toEqual([
      { source: 1, target: 2, inputIndex: 0, partitioning: 'HASH' },
      { source: 2, target: 3, inputIndex: 0 },
    ]);
    expect(graph.nodes[1]).toMatchObject({ name: 'Keyed Reduce', keyed: true, inputs: 1 });
    expect(graph.nodes[1]!.fns.key).toBe(selector);
    expect(graph.nodes[1]!.fns.reduce).toBe(reduce);
    expect(graph.nodes[2]!.keyed).toBe(false);
  });

  it('a union keyed: every producer gets a HASH edge', async () => {
    const graph = await buildStreamGraph((env) => {
      env
        .fromElements(1)
        .union(env.fromElements(2).rebalance())
        .keyBy((x) => x)
        .reduce((a, b) => a + b)
        .print();
    });
    expect(graph.edges.slice(0, 2)).toEqual([
      { source: 1, target: 3, inputIndex: 0, partitioning: 'HASH' },
      { source: 2, target: 3, inputIndex: 0, partitioning: 'HASH' },
    ]);
  });

  it('keyBy expects a function', () => {
    const s = new StreamExecutionEnvironment().fromElements({ a: 1 });
    expect(() => s.keyBy('a' as never)).toThrow(
      "keyBy expects a function returning a string or number (got 'a')",
    );
  });
});

describe('KeyedStream rolling aggregations', () => {
  it('aggregate stores the AggregateFunction', async () => {
    const fn = Aggregations.count<Sale>();
    const node = await keyedNode((s) => s.aggregate(fn));
    expect(node).toMatchObject({ kind: 'aggregate', name: 'Keyed Aggregate', keyed: true });
    expect(node.fns.aggregate).toBe(fn);
  });

  it('aggregate refuses an incomplete AggregateFunction', () => {
    const env = new StreamExecutionEnvironment();
    expect(() => keyed(env).aggregate({ createAccumulator: () => 0 } as never)).toThrow(
      "aggregate expects an AggregateFunction object with 'createAccumulator', 'add', 'getResult', 'merge' (missing 'add', 'getResult', 'merge')",
    );
  });

  it('sum/min/max of a field keep the first record and replace the field', async () => {
    const sum = await keyedNode((s) => s.sum('amount'));
    expect(sum).toMatchObject({
      kind: 'reduce',
      name: 'Keyed Aggregation',
      keyed: true,
      spec: { field: 'amount' },
    });
    expect(rollReduce(sum, sales)).toEqual([
      { shop: 'a', amount: 5, qty: 1 },
      { shop: 'a', amount: 8, qty: 1 },
      { shop: 'a', amount: 17, qty: 1 },
    ]);
    expect(rollReduce(await keyedNode((s) => s.min('amount')), sales).map((s) => (s as Sale).amount)).toEqual(
      [5, 3, 3],
    );
    expect(rollReduce(await keyedNode((s) => s.max('qty')), sales)).toEqual([
      { shop: 'a', amount: 5, qty: 1 },
      { shop: 'a', amount: 5, qty: 7 },
      { shop: 'a', amount: 5, qty: 7 },
    ]);
  });

  it('sum/min/max with a selector emit { key, value }', async () => {
    const sum = await keyedNode((s) => s.sum((x) => x.amount * x.qty));
    expect(sum).toMatchObject({ kind: 'aggregate', name: 'Keyed Aggregation', keyed: true });
    expect(rollAggregate(sum, sales)).toEqual([
      { key: 'a', value: 5 },
      { key: 'a', value: 26 },
      { key: 'a', value: 44 },
    ]);
    expect(rollAggregate(await keyedNode((s) => s.min((x) => x.qty)), sales)).toEqual([
      { key: 'a', value: 1 },
      { key: 'a', value: 1 },
      { key: 'a', value: 1 },
    ]);
    expect(
      rollAggregate(await keyedNode((s) => s.max((x) => x.qty)), sales).map(
        (r) => (r as { value: number }).value,
      ),
    ).toEqual([1, 7, 7]);
  });

  it('minBy/maxBy emit the whole record, the earlier one on ties', async () => {
    expect(rollReduce(await keyedNode((s) => s.minBy('amount')), sales)).toEqual([
      sales[0],
      sales[1],
      sales[1],
    ]);
    expect(rollReduce(await keyedNode((s) => s.maxBy((x) => x.qty)), sales)).toEqual([
      sales[0],
      sales[1],
      sales[1],
    ]);
    const tie = [sales[0]!, { ...sales[0]!, qty: 99 }];
    expect(rollReduce(await keyedNode((s) => s.minBy('amount')), tie)).toEqual([tie[0], tie[0]]);
  });

  it('count emits { key, value } and merges', async () => {
    const node = await keyedNode((s) => s.count());
    expect(rollAggregate(node, sales)).toEqual([
      { key: 'a', value: 1 },
      { key: 'a', value: 2 },
      { key: 'a', value: 3 },
    ]);
    const fn = node.fns.aggregate as AggregateFunction<
      Sale,
      { key: string; value: number } | undefined,
      unknown
    >;
    expect(fn.merge({ key: 'a', value: 2 }, { key: 'a', value: 3 })).toEqual({ key: 'a', value: 5 });
    expect(fn.merge(undefined, { key: 'a', value: 3 })).toEqual({ key: 'a', value: 3 });
  });

  it('process: a keyedProcess node', async () => {
    const fn = { processElement: () => undefined, onTimer: () => undefined };
    const node = await keyedNode((s) => s.process(fn));
    expect(node).toMatchObject({ kind: 'keyedProcess', name: 'KeyedProcess', keyed: true });
    expect(node.fns.fn).toBe(fn);
  });
});
