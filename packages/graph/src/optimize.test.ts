import { describe, expect, it } from 'vitest';
import { optimize, OptimizerError } from './optimize.js';
import type { NodeKind, RuntimeMode, StreamEdge, StreamGraphJson } from './stream-graph.js';

type NodeJson = StreamGraphJson['nodes'][number];

/** A tiny hand-built StreamGraph: nodes get ids in creation order, like the API's. */
class G {
  readonly nodes: NodeJson[] = [];
  readonly edges: StreamEdge[] = [];
  constructor(
    private readonly parallelism = 2,
    private readonly mode: RuntimeMode = 'STREAMING',
  ) {}

  node(kind: NodeKind, name: string, extra: Partial<NodeJson> = {}): number {
    const id = this.nodes.length + 1;
    this.nodes.push({
      id,
      kind,
      name,
      chaining: 'ALWAYS',
      slotSharingGroup: 'default',
      inputs: kind === 'source' ? 0 : 1,
      keyed: false,
      spec: {},
      ...(kind === 'source' ? { bounded: true } : {}),
      ...extra,
    });
    return id;
  }

  edge(source: number, target: number, extra: Partial<StreamEdge> = {}): this {
    this.edges.push({ source, target, inputIndex: 0, ...extra });
    return this;
  }

  get graph(): StreamGraphJson {
    return {
      config: {
        name: 'test job',
        parallelism: this.parallelism,
        maxParallelism: 128,
        runtimeMode: this.mode,
        autoWatermarkIntervalMs: 200,
        bufferTimeoutMs: 10,
      },
      nodes: this.nodes,
      edges: this.edges,
    };
  }
}

const chains = (g: G) => optimize(g.graph, 'h').vertices.map((v) => v.operators.map((o) => o.nodeId));

/** source -> map -> sink with one knob changed on the map or the edge. */
function line(
  mapExtra: Partial<NodeJson> = {},
  edgeExtra: Partial<StreamEdge> = {},
  sourceExtra: Partial<NodeJson> = {},
) {
  const g = new G();
  const s = g.node('source', 'Source', sourceExtra);
  const m = g.node('map', 'Map', mapExtra);
  const k = g.node('sink', 'Sink');
  g.edge(s, m, edgeExtra).edge(m, k);
  return g;
}

describe('optimize: chaining rules', () => {
  it('chains a forward line of equal parallelism into one vertex named A -> B -> C', () => {
    const job = optimize(line().graph, 'abc');
    expect(job.vertices).toEqual([
      {
        id: 'v1',
        name: 'Source -> Map -> Sink',
        parallelism: 2,
        maxParallelism: 128,
        slotSharingGroup: 'default',
        operators: [
          { nodeId: 1, kind: 'source', name: 'Source' },
          { nodeId: 2, kind: 'map', name: 'Map' },
          { nodeId: 3, kind: 'sink', name: 'Sink' },
        ],
        isSource: true,
        bounded: true,
        replayable: true,
      },
    ]);
    expect(job.edges).toEqual([]);
    expect(job.planHash).toBe('abc');
  });

  it('chains an explicit FORWARD edge', () => {
    expect(chains(line({}, { partitioning: 'FORWARD' }))).toEqual([[1, 2, 3]]);
  });

  it.each(['HASH', 'REBALANCE', 'BROADCAST', 'RESCALE'] as const)(
    'does not chain a %s edge',
    (partitioning) => {
      const job = optimize(line({}, { partitioning }).graph, 'h');
      expect(job.vertices.map((v) => v.id)).toEqual(['v1', 'v2']);
      expect(job.vertices[1]!.name).toBe('Map -> Sink');
      expect(job.edges).toEqual([
        {
          id: 'e1-2',
          source: 'v1',
          target: 'v2',
          sourceNodeId: 1,
          targetNodeId: 2,
          inputIndex: 0,
          partitioning,
        },
      ]);
    },
  );

  it('does not chain across different parallelisms; the implied partitioning is REBALANCE', () => {
    const job = optimize(line({ parallelism: 3 }).graph, 'h');
    expect(job.vertices.map((v) => [v.id, v.parallelism])).toEqual([
      ['v1', 2],
      ['v2', 3],
      ['v3', 2],
    ]);
    expect(job.edges.map((e) => [e.id, e.partitioning])).toEqual([
      ['e1-2', 'REBALANCE'],
      ['e2-3', 'REBALANCE'],
    ]);
  });

  it('rejects a FORWARD edge between different parallelisms, naming both operators', () => {
    expect(() => optimize(line({ parallelism: 3 }, { partitioning: 'FORWARD' }).graph, 'h')).toThrow(
      /FORWARD edge from 'Source' \(node 1\) with parallelism 2 to 'Map' \(node 2\) with parallelism 3/,
    );
    expect(() => optimize(line({ parallelism: 3 }, { partitioning: 'FORWARD' }).graph, 'h')).toThrow(
      OptimizerError,
    );
  });

  it('does not chain a target with two inputs (union)', () => {
    const g = new G();
    const a = g.node('source', 'A');
    const b = g.node('source', 'B');
    const u = g.node('map', 'AfterUnion');
    g.edge(a, u).edge(b, u);
    const job = optimize(g.graph, 'h');
    expect(job.vertices.map((v) => v.id)).toEqual(['v1', 'v2', 'v3']);
    expect(job.edges.map((e) => [e.id, e.partitioning])).toEqual([
      ['e1-3', 'FORWARD'],
      ['e2-3', 'FORWARD'],
    ]);
  });

  it('does not chain into a two-input operator and keeps the input index', () => {
    const g = new G();
    const a = g.node('source', 'A');
    const b = g.node('source', 'B');
    const c = g.node('coMap', 'CoMap', { inputs: 2 });
    g.edge(a, c, { inputIndex: 0 }).edge(b, c, { inputIndex: 1, partitioning: 'BROADCAST' });
    const job = optimize(g.graph, 'h');
    expect(job.edges.map((e) => [e.source, e.target, e.inputIndex, e.partitioning])).toEqual([
      ['v1', 'v3', 0, 'FORWARD'],
      ['v2', 'v3', 1, 'BROADCAST'],
    ]);
  });

  it('does not chain across slot-sharing groups', () => {
    expect(chains(line({ slotSharingGroup: 'heavy' }))).toEqual([[1], [2, 3]]);
  });

  it('starts a new chain at a HEAD operator (startNewChain)', () => {
    expect(chains(line({ chaining: 'HEAD' }))).toEqual([[1], [2, 3]]);
  });

  it('chains nothing into or out of a NEVER operator (disableChaining)', () => {
    expect(chains(line({ chaining: 'NEVER' }))).toEqual([[1], [2], [3]]);
  });

  it('lets a HEAD operator chain to its successor', () => {
    const g = line();
    g.nodes[0]!.chaining = 'HEAD';
    expect(chains(g)).toEqual([[1, 2, 3]]);
  });

  it('does not chain from a NEVER source', () => {
    expect(chains(line({}, {}, { chaining: 'NEVER' }))).toEqual([[1], [2, 3]]);
  });

  it('does not chain across different max parallelisms', () => {
    expect(chains(line({ maxParallelism: 64 }))).toEqual([[1], [2], [3]]);
  });

  it('chains a fan-out with every chainable consumer (chains are trees)', () => {
    const g = new G();
    const s = g.node('source', 'S');
    const a = g.node('map', 'A');
    const b = g.node('map', 'B');
    const c = g.node('sink', 'C');
    const d = g.node('sink', 'D', { parallelism: 1 });
    g.edge(s, a).edge(s, b).edge(a, c).edge(b, d);
    const job = optimize(g.graph, 'h');
    // D has another parallelism: it starts a vertex of its own, fed by B inside the chain.
    expect(job.vertices.map((v) => [v.name, v.operators.map((o) => o.nodeId)])).toEqual([
      ['S -> (A -> C, B)', [1, 2, 4, 3]],
      ['D', [5]],
    ]);
    expect(job.edges.map((e) => [e.id, e.sourceNodeId, e.partitioning])).toEqual([['e3-5', 3, 'REBALANCE']]);
  });

  it('does not chain where two branches meet again (a chained operator has one input)', () => {
    const g = new G();
    const s = g.node('source', 'S');
    const a = g.node('map', 'A');
    const b = g.node('map', 'B');
    const u = g.node('sink', 'U');
    g.edge(s, a).edge(s, b).edge(a, u).edge(b, u);
    const job = optimize(g.graph, 'h');
    expect(job.vertices.map((v) => v.name)).toEqual(['S -> (A, B)', 'U']);
    expect(job.edges.map((e) => e.id)).toEqual(['e2-4', 'e3-4']);
  });
});

describe('optimize: side outputs', () => {
  it('never chains a side-output edge; the main output still chains; the edge leaves from the inner operator', () => {
    const g = new G();
    const s = g.node('source', 'S');
    const p = g.node('process', 'Split');
    const main = g.node('sink', 'MainSink');
    const late = g.node('sink', 'LateSink');
    g.edge(s, p).edge(p, main).edge(p, late, { sideOutput: 'late' });
    const job = optimize(g.graph, 'h');
    expect(job.vertices.map((v) => [v.id, v.name])).toEqual([
      ['v1', 'S -> Split -> MainSink'],
      ['v4', 'LateSink'],
    ]);
    expect(job.edges).toEqual([
      {
        id: 'e2-4-late',
        source: 'v1',
        target: 'v4',
        sourceNodeId: 2,
        targetNodeId: 4,
        inputIndex: 0,
        partitioning: 'FORWARD',
        sideOutput: 'late',
      },
    ]);
  });
});

describe('optimize: slot-sharing groups', () => {
  it('an operator without a group inherits its input group', () => {
    const g = new G();
    const s = g.node('source', 'S', { slotSharingGroup: 'src' });
    const m = g.node('map', 'M');
    const k = g.node('sink', 'K');
    g.edge(s, m, { partitioning: 'REBALANCE' }).edge(m, k);
    const job = optimize(g.graph, 'h');
    expect(job.vertices.map((v) => [v.id, v.slotSharingGroup])).toEqual([
      ['v1', 'src'],
      ['v2', 'src'],
    ]);
  });

  it('falls back to default when inputs disagree, and an explicit group wins', () => {
    const g = new G();
    const a = g.node('source', 'A', { slotSharingGroup: 'x' });
    const b = g.node('source', 'B', { slotSharingGroup: 'y' });
    const u = g.node('map', 'U');
    const e = g.node('sink', 'E', { slotSharingGroup: 'z' });
    g.edge(a, u).edge(b, u).edge(u, e);
    const job = optimize(g.graph, 'h');
    expect(Object.fromEntries(job.vertices.map((v) => [v.id, v.slotSharingGroup]))).toEqual({
      v1: 'x',
      v2: 'y',
      v3: 'default',
      v4: 'z',
    });
  });

  it('propagation lets inherited operators chain', () => {
    const g = new G();
    const s = g.node('source', 'S', { slotSharingGroup: 'g' });
    const m = g.node('map', 'M');
    g.edge(s, m);
    expect(optimize(g.graph, 'h').vertices.map((v) => [v.name, v.slotSharingGroup])).toEqual([
      ['S -> M', 'g'],
    ]);
  });
});

describe('optimize: graph shape', () => {
  it('orders vertices topologically with ties broken by id and flags boundedness', () => {
    const g = new G();
    const unbounded = g.node('source', 'Events', { bounded: false });
    const table = g.node('source', 'Table', { bounded: true });
    const j = g.node('keyedCoProcess', 'Join', { inputs: 2, keyed: true });
    const k = g.node('sink', 'Out');
    const m = g.node('map', 'TableOnly');
    g.edge(unbounded, j, { partitioning: 'HASH' })
      .edge(table, j, { partitioning: 'HASH', inputIndex: 1 })
      .edge(j, k)
      .edge(table, m, { partitioning: 'REBALANCE' });
    const job = optimize(g.graph, 'h');
    expect(job.vertices.map((v) => [v.id, v.isSource, v.bounded])).toEqual([
      ['v1', true, false],
      ['v2', true, true],
      ['v3', false, false],
      ['v5', false, true],
    ]);
  });

  it('gives distinct ids to two edges between the same operators', () => {
    const g = new G();
    const s = g.node('source', 'S');
    const c = g.node('coMap', 'Self', { inputs: 2 });
    g.edge(s, c).edge(s, c, { inputIndex: 1 });
    expect(optimize(g.graph, 'h').edges.map((e) => e.id)).toEqual(['e1-2', 'e1-2~2']);
  });

  it('rejects unbounded sources in BATCH mode', () => {
    const g = new G(2, 'BATCH');
    const s = g.node('source', 'Kafka', { bounded: false });
    g.edge(s, g.node('sink', 'K'));
    expect(() => optimize(g.graph, 'h')).toThrow(/BATCH mode needs bounded sources, but source 'Kafka'/);
  });

  it('rejects cycles, dangling edges and missing inputs', () => {
    const cyc = new G();
    const s = cyc.node('source', 'S');
    const a = cyc.node('map', 'A');
    const b = cyc.node('map', 'B');
    cyc.edge(s, a).edge(b, a).edge(a, b);
    expect(() => optimize(cyc.graph, 'h')).toThrow(/cycle/);

    const dangling = new G();
    dangling.edge(dangling.node('source', 'S'), 9);
    expect(() => optimize(dangling.graph, 'h')).toThrow(/does not exist/);

    const orphan = new G();
    orphan.node('map', 'Lonely');
    expect(() => optimize(orphan.graph, 'h')).toThrow(/'Lonely' \(node 1\) has no input/);
  });

  it('is deterministic', () => {
    const g = line({}, { partitioning: 'HASH' });
    expect(JSON.stringify(optimize(g.graph, 'h'))).toBe(
      JSON.stringify(optimize(structuredClone(g.graph), 'h')),
    );
  });
});

describe('optimize: fault-tolerance settings', () => {
  it('marks a vertex whose head is a socket source as not replayable, every other vertex as replayable', () => {
    const g = new G(1);
    const socket = g.node('source', 'Socket', {
      bounded: false,
      spec: { source: { type: 'socket', host: 'localhost', port: 9, delimiter: '\n' } },
    });
    const seq = g.node('source', 'Seq', { spec: { source: { type: 'sequence', from: 1, to: 2 } } });
    const sink = g.node('sink', 'Sink', { inputs: 1 });
    g.edge(socket, sink, { partitioning: 'REBALANCE' }).edge(seq, sink, { partitioning: 'REBALANCE' });
    const job = optimize(g.graph, 'h');
    expect(job.vertices.map((v) => [v.id, v.replayable])).toEqual([
      ['v1', false],
      ['v2', true],
      ['v3', true],
    ]);
  });

  it('carries the checkpointing and the restart strategy of the config into the JobGraph', () => {
    const g = line();
    const graph = g.graph;
    const checkpointing = {
      intervalMs: 1000,
      mode: 'EXACTLY_ONCE' as const,
      timeoutMs: 5000,
      minPauseBetweenCheckpointsMs: 100,
      tolerableCheckpointFailureNumber: 2,
      maxRetainedCheckpoints: 3,
    };
    const restartStrategy = { type: 'fixed-delay' as const, attempts: 3, delayMs: 10 };
    const job = optimize({ ...graph, config: { ...graph.config, checkpointing, restartStrategy } }, 'h');
    expect(job.checkpointing).toEqual(checkpointing);
    expect(job.restartStrategy).toEqual(restartStrategy);
    expect(Object.keys(optimize(graph, 'h'))).not.toContain('checkpointing');
    expect(Object.keys(optimize(graph, 'h'))).not.toContain('restartStrategy');
  });
});
