import { describe, expect, it } from 'vitest';
import type { StreamGraph } from '@freshet/graph';
import { canonicalJson, computePlanHash } from './hash.js';

const graph = (): StreamGraph => ({
  config: {
    name: 'job',
    parallelism: 2,
    maxParallelism: 128,
    runtimeMode: 'STREAMING',
    autoWatermarkIntervalMs: 200,
    bufferTimeoutMs: 10,
  },
  nodes: [
    {
      id: 1,
      kind: 'source',
      name: 'Source',
      chaining: 'ALWAYS',
      slotSharingGroup: 'default',
      inputs: 0,
      keyed: false,
      bounded: true,
      spec: { source: { type: 'elements', elements: [1, undefined, { b: 1, a: new Date(0) }] } },
      fns: { fn: () => 1 },
    },
    {
      id: 2,
      kind: 'map',
      name: 'Map',
      chaining: 'ALWAYS',
      slotSharingGroup: 'default',
      inputs: 1,
      keyed: false,
      spec: {},
      fns: { fn: (x: number) => x },
    },
  ],
  edges: [{ source: 1, target: 2, inputIndex: 0 }],
});

describe('computePlanHash', () => {
  it('is a sha256 hex digest that ignores functions and key order', () => {
    const a = graph();
    const b = graph();
    b.nodes[0]!.fns = {};
    const hash = computePlanHash(a);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(computePlanHash(b)).toBe(hash);
    const reordered = JSON.parse(
      JSON.stringify({ edges: a.edges, nodes: a.nodes, config: a.config }),
    ) as StreamGraph;
    expect(computePlanHash(reordered)).toBe(hash);
  });

  it('gives the same hash after a JSON round trip (what crosses processes)', () => {
    const a = graph();
    expect(computePlanHash(JSON.parse(JSON.stringify(a)) as StreamGraph)).toBe(computePlanHash(a));
  });

  it('changes when the plan changes', () => {
    const a = graph();
    const b = graph();
    b.nodes[1]!.parallelism = 3;
    expect(computePlanHash(b)).not.toBe(computePlanHash(a));
  });

  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: undefined, c: null })).toBe(
      '{"b":[{"c":2,"d":1}],"c":null}',
    );
  });
});
