import { describe, expect, it } from 'vitest';
import {
  OutputTag,
  Sinks,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type Collector,
  type ProcessContext,
} from './index.js';
import { buildStreamGraph } from './internal.js';
import { optimize, streamGraphToJson, type StreamGraph } from '@freshet/graph';

/** Node kinds and names, and edges, in a compact form. */
const shape = (graph: StreamGraph) => ({
  nodes: graph.nodes.map((n) => `${n.id}:${n.kind}:${n.name}`),
  edges: graph.edges.map(
    (e) =>
      `${e.source}->${e.target}${e.inputIndex ? '#1' : ''}${e.partitioning ? ` ${e.partitioning}` : ''}${e.sideOutput ? ` [${e.sideOutput}]` : ''}`,
  ),
});

describe('DataStream one-input operators', () => {
  it('map, flatMap, filter, process: one node each, functions stored as given', async () => {
    const map = (x: number) => x * 2;
    const flatMap = (x: number, out: Collector<string>) => {
      out.collect(String(x));
    };
    const filter = { filter: (s: string) => s !== '' };
    const proc = {
      processElement: (s: string, _ctx: ProcessContext, out: Collector<number>) => {
        out.collect(s.length);
      },
    };
    const graph = await buildStreamGraph((env) => {
      env.fromSequence(1, 10).map(map).flatMap(flatMap).filter(filter).process(proc).print();
    });
    expect(shape(graph)).toEqual({
      nodes: [
        '1:source:Source: Sequence',
        '2:map:Map',
        '3:flatMap:FlatMap',
        '4:filter:Filter',
        '5:process:Process',
        '6:sink:Sink: Print',
      ],
      edges: ['1->2', '2->3', '3->4', '4->5', '5->6'],
    });
    expect(graph.nodes[1]!.fns.fn).toBe(map);
    expect(graph.nodes[2]!.fns.fn).toBe(flatMap);
    expect(graph.nodes[3]!.fns.fn).toBe(filter);
    expect(graph.nodes[4]!.fns.fn).toBe(proc);
    for (const node of graph.nodes.slice(1)) {
      expect(node).toMatchObject({
        inputs: 1,
        keyed: false,
        chaining: 'ALWAYS',
        slotSharingGroup: 'default',
      });
    }
  });

  it('refuses things that are not functions', () => {
    const s = new StreamExecutionEnvironment().fromElements(1);
    expect(() => s.map(5 as never)).toThrow(
      "map expects a function or an object with a 'map' method (got 5)",
    );
    expect(() => s.filter({} as never)).toThrow(
      "filter expects a function or an object with a 'filter' method (got an object)",
    );
    expect(() => s.process({} as never)).toThrow(
      "process expects a ProcessFunction object with 'processElement' (missing 'processElement')",
    );
  });

  it('assignTimestampsAndWatermarks: a timestamps node with the spec and the assigner', async () => {
    const assigner = (v: { t: number }) => v.t;
    const graph = await buildStreamGraph((env) => {
      env
        .fromElements({ t: 1 })
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(500)
            .withTimestampAssigner(assigner)
            .withIdleness(1000),
        )
        .print();
    });
    expect(graph.nodes[1]).toMatchObject({
      kind: 'timestamps',
      name: 'Timestamps/Watermarks',
      spec: { watermarks: { outOfOrdernessMs: 500, idlenessMs: 1000 } },
    });
    expect(graph.nodes[1]!.fns.timestampAssigner).toBe(assigner);
  });

  it('operator settings: name, uid, parallelism, maxParallelism, chaining, slot sharing', async () => {
    const graph = await buildStreamGraph((env) => {
      env
        .fromSequence(1, 2)
        .map((x) => x)
        .name('double')
        .uid('double-uid')
        .setParallelism(3)
        .setMaxParallelism(64)
        .startNewChain()
        .filter(() => true)
        .disableChaining()
        .print()
        .name('out')
        .uid('out-uid')
        .setParallelism(1)
        .disableChaining();
    });
    expect(graph.nodes[1]).toMatchObject({
      name: 'double',
      uid: 'double-uid',
      parallelism: 3,
      maxParallelism: 64,
      chaining: 'HEAD',
    });
    expect(graph.nodes[2]).toMatchObject({ chaining: 'NEVER' });
    expect(graph.nodes[2]).not.toHaveProperty('parallelism');
    expect(graph.nodes[3]).toMatchObject({ name: 'out', uid: 'out-uid', parallelism: 1, chaining: 'NEVER' });
  });

  it('slot-sharing groups are inherited downstream unless set, and default when inputs disagree', async () => {
    const graph = await buildStreamGraph((env) => {
      const a = env.fromSequence(1, 2).slotSharingGroup('src');
      const b = a.map((x) => x);
      const c = env.fromSequence(1, 2);
      b.union(c).print();
      b.filter(() => true)
        .slotSharingGroup('other')
        .print();
    });
    expect(graph.nodes.map((n) => `${n.name}=${n.slotSharingGroup}`)).toEqual([
      'Source: Sequence=src',
      'Map=src',
      'Source: Sequence=default',
      'Sink: Print=default',
      'Filter=other',
      'Sink: Print=other',
    ]);
  });

  it('rejects bad operator settings', () => {
    const m = new StreamExecutionEnvironment().fromSequence(1, 2).map((x) => x);
    expect(() => m.setParallelism(0)).toThrow('setParallelism expects a positive integer (got 0)');
    expect(() => m.name('')).toThrow("name expects a non-empty string (got '')");
    expect(() => m.uid(7 as never)).toThrow('uid expects a non-empty string (got 7)');
    expect(() => m.slotSharingGroup('')).toThrow('slotSharingGroup expects a non-empty string');
  });
});

describe('union and partitioning', () => {
  it('union creates no node: several edges into one input', async () => {
    const graph = await buildStreamGraph((env) => {
      const a = env.fromElements(1);
      const b = env.fromElements(2);
      const c = env.fromElements(3);
      a.union(b, c)
        .map((x) => x)
        .print();
    });
    expect(shape(graph)).toEqual({
      nodes: [
        '1:source:Source: Collection',
        '2:source:Source: Collection',
        '3:source:Source: Collection',
        '4:map:Map',
        '5:sink:Sink: Print',
      ],
      edges: ['1->4', '2->4', '3->4', '4->5'],
    });
  });

  it('rebalance, rescale, forward, broadcast set the partitioning of the next edges', async () => {
    const graph = await buildStreamGraph((env) => {
      const s = env.fromSequence(1, 2);
      s.rebalance().print();
      s.rescale().print();
      s.forward().print();
      s.broadcast().print();
      s.rebalance().union(env.fromSequence(1, 2)).print();
    });
    expect(shape(graph).edges).toEqual([
      '1->2 REBALANCE',
      '1->3 RESCALE',
      '1->4 FORWARD',
      '1->5 BROADCAST',
      '1->7 REBALANCE',
      '6->7',
    ]);
  });

  it('shuffle and global set SHUFFLE and GLOBAL on the next edges', async () => {
    const graph = await buildStreamGraph((env) => {
      const s = env.fromSequence(1, 2);
      s.shuffle().print();
      s.global().print();
    });
    expect(shape(graph).edges).toEqual(['1->2 SHUFFLE', '1->3 GLOBAL']);
  });

  it("partitionCustom sets CUSTOM and keeps each edge's partitioner and key selector on the target node", async () => {
    const byShop = (shop: string, n: number) => (shop === 'a' ? 0 : n - 1);
    const modulo = { partition: (v: number, n: number) => v % n };
    const graph = await buildStreamGraph((env) => {
      const s = env.fromElements({ shop: 'a', v: 1 });
      const t = env.fromElements({ shop: 'b', v: 2 });
      s.partitionCustom(byShop, (r) => r.shop)
        .union(t.partitionCustom(modulo, (r) => r.v))
        .map((r) => r.v)
        .print();
      // A keyBy after partitionCustom wins, as in Flink.
      s.partitionCustom(byShop, (r) => r.shop)
        .keyBy((r) => r.shop)
        .sum('v');
    });
    expect(shape(graph).edges).toEqual(['1->3 CUSTOM', '2->3 CUSTOM', '3->4', '1->5 HASH']);
    const [a, b] = graph.edges;
    expect([a?.customPartitioner, b?.customPartitioner]).toEqual([0, 1]);
    expect(graph.edges[3]?.customPartitioner).toBeUndefined();
    const fns = graph.nodes[2]!.fns.partitioners!;
    expect(fns).toHaveLength(2);
    const call = (i: number, record: unknown, n: number) =>
      (fns[i]!.partition as (k: unknown, n: number) => number)(
        (fns[i]!.key as (r: unknown) => unknown)(record),
        n,
      );
    expect(call(0, { shop: 'b', v: 0 }, 4)).toBe(3);
    expect(call(1, { shop: 'b', v: 7 }, 4)).toBe(3);
    // The optimizer carries the index to the JobGraph edge.
    const job = optimize(graph, 'h');
    expect(job.edges.filter((e) => e.partitioning === 'CUSTOM').map((e) => e.customPartitioner)).toEqual([
      0, 1,
    ]);
  });

  it('partitionCustom checks its arguments', () => {
    const s = new StreamExecutionEnvironment().fromElements(1);
    expect(() => s.partitionCustom({} as never, (x) => x)).toThrow(
      "partitionCustom expects a function or an object with a 'partition' method",
    );
    expect(() => s.partitionCustom((k: number, n) => k % n, 'v' as never)).toThrow(
      'partitionCustom expects a key selector function',
    );
  });

  it('union refuses streams of another environment', () => {
    const a = new StreamExecutionEnvironment().fromElements(1);
    const b = new StreamExecutionEnvironment().fromElements(2);
    expect(() => a.union(b)).toThrow('union expects streams of the same environment');
  });
});

describe('side outputs', () => {
  it('getSideOutput: an edge carrying the tag id', async () => {
    const errors = new OutputTag<string>('errors');
    const graph = await buildStreamGraph((env) => {
      const main = env.fromElements(1).process<number>({
        processElement(v, ctx, out) {
          if (v < 0) ctx.output(errors, 'negative');
          else out.collect(v);
        },
      });
      main.print();
      main
        .getSideOutput(errors)
        .map((s) => s.toUpperCase())
        .print();
      main.getSideOutput(errors).discard();
    });
    expect(shape(graph).edges).toEqual(['1->2', '2->3', '2->4 [errors]', '4->5', '2->6 [errors]']);
  });

  it('two different OutputTags with one id are refused', () => {
    const env = new StreamExecutionEnvironment();
    const p = env.fromElements(1).process({ processElement: () => undefined });
    p.getSideOutput(new OutputTag<string>('x'));
    expect(() => p.map((x) => x).getSideOutput(new OutputTag<number>('x'))).toThrow(
      "Two different OutputTags have the id 'x' (used on 'Process' and on 'Map')",
    );
  });
});

describe('sinks', () => {
  it('print, printToErr, collect, writeAsJsonLines, writeAsText, discard, sinkTo', async () => {
    const graph = await buildStreamGraph((env) => {
      const s = env.fromElements(1);
      s.print();
      s.print('p');
      s.printToErr();
      s.collect('results');
      s.writeAsJsonLines('/tmp/out.jsonl');
      s.writeAsText('/tmp/out-text');
      s.discard();
      s.sinkTo(Sinks.collect('other'));
    });
    expect(graph.nodes.slice(1).map((n) => [n.kind, n.name, n.spec.sink])).toEqual([
      ['sink', 'Sink: Print', { type: 'print' }],
      ['sink', 'Sink: Print', { type: 'print', prefix: 'p' }],
      ['sink', 'Sink: Print to Std. Err', { type: 'print', stderr: true }],
      ['sink', 'Sink: Collect(results)', { type: 'collect', id: 'results' }],
      ['sink', 'Sink: JSON Lines', { type: 'jsonLines', path: '/tmp/out.jsonl' }],
      ['sink', 'Sink: Text', { type: 'text', path: '/tmp/out-text' }],
      ['sink', 'Sink: Discard', { type: 'discard' }],
      ['sink', 'Sink: Collect(other)', { type: 'collect', id: 'other' }],
    ]);
  });

  it('the graph without functions is plain JSON', async () => {
    const graph = await buildStreamGraph(
      (env) =>
        void env
          .fromElements({ a: 1 })
          .map((x) => x.a)
          .print(),
    );
    const json = streamGraphToJson(graph);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
