import { describe, expect, it } from 'vitest';
import {
  EventTimeTrigger,
  MapStateDescriptor,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  type Bid,
  type Person,
} from './index.js';
import { buildStreamGraph } from './internal.js';

interface Rule {
  name: string;
  limit: number;
}

describe('connect', () => {
  it('co-map, co-flatMap and co-process: two-input nodes with inputIndex 0/1', async () => {
    const graph = await buildStreamGraph((env) => {
      const a = env.fromElements(1);
      const b = env.fromElements('x');
      a.connect(b)
        .map({ map1: (n) => n, map2: (s) => s.length })
        .print();
      a.connect(b)
        .flatMap<string>({
          flatMap1: (n, out) => {
            out.collect(String(n));
          },
          flatMap2: (s, out) => {
            out.collect(s);
          },
        })
        .print();
      a.connect(b.rebalance())
        .process<number>({ processElement1: () => undefined, processElement2: () => undefined })
        .print();
    });
    expect(graph.nodes.filter((n) => n.inputs === 2).map((n) => [n.id, n.kind, n.name, n.keyed])).toEqual([
      [3, 'coMap', 'Co-Map', false],
      [5, 'coFlatMap', 'Co-Flat Map', false],
      [7, 'coProcess', 'Co-Process', false],
    ]);
    expect(graph.edges.filter((e) => e.target === 7)).toEqual([
      { source: 1, target: 7, inputIndex: 0 },
      { source: 2, target: 7, inputIndex: 1, partitioning: 'REBALANCE' },
    ]);
  });

  it('keyed connect: both inputs HASH, key selectors in fns.key and fns.key2', async () => {
    const k1 = (p: Person) => p.id;
    const k2 = (b: Bid) => b.bidder;
    const fn = {
      processElement1: () => undefined,
      processElement2: () => undefined,
      onTimer: () => undefined,
    };
    const graph = await buildStreamGraph((env) => {
      const persons = env.fromCollection<Person>([]);
      const bids = env.fromCollection<Bid>([]);
      persons.keyBy(k1).connect(bids.keyBy(k2)).process(fn).print();
      persons
        .connect(bids)
        .keyBy(k1, k2)
        .map({ map1: () => 1, map2: () => 2 })
        .print();
    });
    expect(graph.nodes[2]).toMatchObject({
      kind: 'keyedCoProcess',
      name: 'Keyed Co-Process',
      inputs: 2,
      keyed: true,
    });
    expect(graph.nodes[2]!.fns).toEqual({ fn, key: k1, key2: k2 });
    expect(graph.nodes[4]).toMatchObject({ kind: 'coMap', keyed: true });
    expect(graph.nodes[4]!.fns.key).toBe(k1);
    expect(graph.nodes[4]!.fns.key2).toBe(k2);
    expect(graph.edges.filter((e) => e.target === 3 || e.target === 5)).toEqual([
      { source: 1, target: 3, inputIndex: 0, partitioning: 'HASH' },
      { source: 2, target: 3, inputIndex: 1, partitioning: 'HASH' },
      { source: 1, target: 5, inputIndex: 0, partitioning: 'HASH' },
      { source: 2, target: 5, inputIndex: 1, partitioning: 'HASH' },
    ]);
  });
});

describe('broadcast state', () => {
  const rules = new MapStateDescriptor<string, Rule>('rules');

  it('connect(broadcast(descriptor)).process: BROADCAST edge on input 1, descriptor names in spec', async () => {
    const fn = { processElement: () => undefined, processBroadcastElement: () => undefined };
    const graph = await buildStreamGraph((env) => {
      const events = env.fromElements(1);
      const ruleStream = env.fromElements<Rule>({ name: 'r', limit: 1 }).broadcast(rules);
      events.connect(ruleStream).process<number>(fn).print();
      events
        .keyBy((x) => x)
        .connect(ruleStream)
        .process<number>(fn)
        .print();
    });
    expect(graph.nodes[2]).toMatchObject({
      kind: 'broadcastProcess',
      name: 'Broadcast Process',
      inputs: 2,
      keyed: false,
      spec: { broadcastStates: ['rules'] },
    });
    expect(graph.nodes[2]!.fns.broadcastStates).toEqual([rules]);
    expect(graph.nodes[4]).toMatchObject({
      kind: 'keyedBroadcastProcess',
      name: 'Keyed Broadcast Process',
      keyed: true,
      spec: { broadcastStates: ['rules'] },
    });
    expect(graph.nodes[4]!.fns.key).toBeTypeOf('function');
    expect(graph.edges.filter((e) => e.target >= 3)).toEqual([
      { source: 1, target: 3, inputIndex: 0 },
      { source: 2, target: 3, inputIndex: 1, partitioning: 'BROADCAST' },
      { source: 3, target: 4, inputIndex: 0 },
      { source: 1, target: 5, inputIndex: 0, partitioning: 'HASH' },
      { source: 2, target: 5, inputIndex: 1, partitioning: 'BROADCAST' },
      { source: 5, target: 6, inputIndex: 0 },
    ]);
  });

  it('refuses duplicate descriptor names and non-descriptors', () => {
    const s = new StreamExecutionEnvironment().fromElements(1);
    expect(() => s.broadcast(rules, new MapStateDescriptor<string, number>('rules'))).toThrow(
      "broadcast got two state descriptors named 'rules'",
    );
    expect(() => s.broadcast({} as never)).toThrow('broadcast expects MapStateDescriptors (got an object)');
  });
});

describe('window join', () => {
  it('join(...).where(...).equalTo(...).window(...).apply(...): a keyed two-input node', async () => {
    const k1 = (p: Person) => p.id;
    const k2 = (b: Bid) => b.bidder;
    const join = (p: Person, b: Bid) => ({ name: p.name, price: b.price });
    const graph = await buildStreamGraph((env) => {
      env
        .fromCollection<Person>([])
        .join(env.fromCollection<Bid>([]))
        .where(k1)
        .equalTo(k2)
        .window(TumblingEventTimeWindows.of(10_000))
        .apply(join)
        .print();
    });
    expect(graph.nodes[2]).toMatchObject({
      kind: 'windowJoin',
      name: 'WindowJoin(TumblingEventTimeWindows(10000))',
      inputs: 2,
      keyed: true,
      spec: {
        window: {
          assigner: { type: 'tumbling', sizeMs: 10000 },
          keyed: true,
          customTrigger: false,
          allowedLatenessMs: 0,
        },
      },
    });
    expect(graph.nodes[2]!.fns).toEqual({ join, key: k1, key2: k2, trigger: EventTimeTrigger.create() });
    expect(graph.edges.slice(0, 2)).toEqual([
      { source: 1, target: 3, inputIndex: 0, partitioning: 'HASH' },
      { source: 2, target: 3, inputIndex: 1, partitioning: 'HASH' },
    ]);
  });
});

describe('interval join', () => {
  it('intervalJoin(...).between(...).process(...): bounds in the spec', async () => {
    const fn = { processElement: () => undefined };
    const graph = await buildStreamGraph((env) => {
      const persons = env.fromCollection<Person>([]).keyBy((p) => p.id);
      const bids = env.fromCollection<Bid>([]).keyBy((b) => b.bidder);
      persons.intervalJoin(bids).between(-1000, 2000).process(fn).print();
      persons
        .intervalJoin(bids)
        .between(0, 10)
        .lowerBoundExclusive()
        .upperBoundExclusive()
        .process(fn)
        .print();
    });
    expect(graph.nodes[2]).toMatchObject({
      kind: 'intervalJoin',
      name: 'IntervalJoin',
      inputs: 2,
      keyed: true,
      spec: { intervalJoin: { lowerMs: -1000, upperMs: 2000, lowerInclusive: true, upperInclusive: true } },
    });
    expect(graph.nodes[2]!.fns.fn).toBe(fn);
    expect(graph.nodes[4]!.spec.intervalJoin).toEqual({
      lowerMs: 0,
      upperMs: 10,
      lowerInclusive: false,
      upperInclusive: false,
    });
    expect(graph.edges.filter((e) => e.target === 3).map((e) => [e.inputIndex, e.partitioning])).toEqual([
      [0, 'HASH'],
      [1, 'HASH'],
    ]);
  });

  it('refuses a lower bound above the upper bound', () => {
    const env = new StreamExecutionEnvironment();
    const a = env.fromElements(1).keyBy((x) => x);
    expect(() => a.intervalJoin(a).between(10, 5)).toThrow('between expects lowerMs <= upperMs (got 10, 5)');
    expect(() => a.intervalJoin(env.fromElements(2) as never)).toThrow(
      'intervalJoin expects a KeyedStream (call keyBy on the other stream first',
    );
  });
});
