import { describe, expect, it } from 'vitest';
import { optimize, type Partitioning, type StreamEdge, type StreamNode } from '@freshet/graph';
import { makeGraph, makeNode } from '../testing/fixture-graphs.js';
import { computePipelinedRegions, computeStages } from './pipelined-regions.js';

const edge = (source: number, target: number, partitioning?: Partitioning): StreamEdge =>
  partitioning ? { source, target, inputIndex: 0, partitioning } : { source, target, inputIndex: 0 };

function regionsOf(nodes: StreamNode[], edges: StreamEdge[], p: number): string[][] {
  const job = optimize(makeGraph(nodes, edges, p), 'h');
  return computePipelinedRegions(job).regions.map((r) =>
    r.executions.map((e) => `${e.vertexId}#${e.subtask}`),
  );
}

const source = (id = 1) =>
  makeNode(id, 'source', 'src', { bounded: true, spec: { source: { type: 'sequence', from: 0, to: 9 } } });
const sink = (id: number) => makeNode(id, 'sink', 'sink', { spec: { sink: { type: 'discard' } } });

describe('computePipelinedRegions', () => {
  it('makes one region of a job whose vertices are joined by hash exchanges', () => {
    const nodes = [source(), makeNode(2, 'reduce', 'sum', { keyed: true }), sink(3)];
    expect(regionsOf(nodes, [edge(1, 2, 'HASH'), edge(2, 3, 'HASH')], 2)).toEqual([
      ['v1#0', 'v1#1', 'v2#0', 'v2#1', 'v3#0', 'v3#1'],
    ]);
  });

  it('makes one region per subtask of a forward-only job at parallelism 2', () => {
    // startNewChain() on the map: two vertices connected by FORWARD.
    const nodes = [source(), makeNode(2, 'map', 'map', { chaining: 'HEAD' }), sink(3)];
    expect(regionsOf(nodes, [edge(1, 2), edge(2, 3)], 2)).toEqual([
      ['v1#0', 'v2#0'],
      ['v1#1', 'v2#1'],
    ]);
  });

  it('joins forward pipelines where a rebalance or broadcast edge connects them, and keeps independent ones apart', () => {
    // Pipeline A: source 1 -> (forward, own chain) map 2 -> sink 3; pipeline B: source 4 -> rebalance -> sink 5.
    const nodes = [
      source(1),
      makeNode(2, 'map', 'map', { chaining: 'HEAD' }),
      sink(3),
      source(4),
      makeNode(5, 'sink', 'sink b', { chaining: 'HEAD', spec: { sink: { type: 'discard' } } }),
    ];
    expect(regionsOf(nodes, [edge(1, 2), edge(2, 3), edge(4, 5, 'REBALANCE')], 2)).toEqual([
      ['v1#0', 'v2#0'],
      ['v1#1', 'v2#1'],
      ['v4#0', 'v4#1', 'v5#0', 'v5#1'],
    ]);
    // A broadcast edge from pipeline B into A's map ties everything together.
    const connected = [
      source(1),
      makeNode(2, 'coMap', 'co', { inputs: 2, chaining: 'HEAD' }),
      sink(3),
      source(4),
    ];
    const edges = [edge(1, 2), { ...edge(4, 2, 'BROADCAST'), inputIndex: 1 as const }, edge(2, 3)];
    expect(regionsOf(connected, edges, 2)).toHaveLength(1);
  });

  it('looks up the region of an execution', () => {
    const nodes = [source(), makeNode(2, 'map', 'map', { chaining: 'HEAD' }), sink(3)];
    const job = optimize(makeGraph(nodes, [edge(1, 2), edge(2, 3)], 2), 'h');
    const regions = computePipelinedRegions(job);
    expect(regions.regionOf('v2', 1).index).toBe(1);
    expect(regions.regionOf('v1', 0)).toBe(regions.regions[0]);
    expect(() => regions.regionOf('v9', 0)).toThrow('execution v9#0 is not in the job');
  });
});

describe('computeStages', () => {
  const batch = (job: ReturnType<typeof optimize>) => ({ ...job, runtimeMode: 'BATCH' as const });

  it('cuts a BATCH job at its keyBy into stages, the second reading the first', () => {
    const nodes = [source(), makeNode(2, 'reduce', 'sum', { keyed: true }), sink(3)];
    const job = batch(optimize(makeGraph(nodes, [edge(1, 2, 'HASH'), edge(2, 3)], 2), 'h'));
    const stages = computeStages(job)!;
    expect(
      stages.regions.map((r) => [r.executions.map((e) => `${e.vertexId}#${e.subtask}`), r.upstream]),
    ).toEqual([
      [['v1#0'], []],
      [['v1#1'], []],
      [['v2#0'], [0, 1]],
      [['v2#1'], [0, 1]],
    ]);
    // The same job in STREAMING, or pipelined regions without the option, is one region.
    expect(computeStages({ ...job, runtimeMode: 'STREAMING' })).toBeUndefined();
    expect(computePipelinedRegions(job).regions).toHaveLength(1);
  });

  it('does not stage a BATCH job without blocking edges, or one whose region would read its own partition', () => {
    const forward = [source(), makeNode(2, 'map', 'map', { chaining: 'HEAD' }), sink(3)];
    expect(
      computeStages(batch(optimize(makeGraph(forward, [edge(1, 2), edge(2, 3)], 2), 'h'))),
    ).toBeUndefined();
    // source -> coMap over FORWARD (input 0) and over HASH (input 1): one region both ways.
    const co = [source(), makeNode(2, 'coMap', 'co', { inputs: 2, chaining: 'HEAD', keyed: true }), sink(3)];
    const edges = [edge(1, 2), { ...edge(1, 2, 'HASH'), inputIndex: 1 as const }, edge(2, 3)];
    expect(computeStages(batch(optimize(makeGraph(co, edges, 1), 'h')))).toBeUndefined();
  });
});
