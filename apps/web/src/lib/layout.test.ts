import { describe, expect, it } from 'vitest';
import { layeredLayout } from './layout';

const opts = { nodeWidth: 100, nodeHeight: 50, layerGap: 20, nodeGap: 10 };

describe('layeredLayout', () => {
  it('puts each vertex one layer right of its furthest predecessor', () => {
    // a -> b -> d, a -> c -> d, a -> d
    const pos = layeredLayout(
      {
        nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
        edges: [
          { source: 'a', target: 'b' },
          { source: 'a', target: 'c' },
          { source: 'b', target: 'd' },
          { source: 'c', target: 'd' },
          { source: 'a', target: 'd' },
        ],
      },
      opts,
    );
    expect(pos.get('a')?.layer).toBe(0);
    expect(pos.get('b')?.layer).toBe(1);
    expect(pos.get('c')?.layer).toBe(1);
    expect(pos.get('d')?.layer).toBe(2);
    expect(pos.get('d')?.x).toBe(240);
    // b and c stack in layer 1; a and d are centred against them.
    expect(pos.get('b')?.y).toBe(0);
    expect(pos.get('c')?.y).toBe(60);
    expect(pos.get('a')?.y).toBe(30);
  });

  it('orders a layer by its predecessors, so two chains do not cross', () => {
    const pos = layeredLayout(
      {
        nodes: [{ id: 's1' }, { id: 's2' }, { id: 't2' }, { id: 't1' }],
        edges: [
          { source: 's1', target: 't1' },
          { source: 's2', target: 't2' },
        ],
      },
      opts,
    );
    expect(pos.get('t1')!.y).toBeLessThan(pos.get('t2')!.y);
  });

  it('survives a cycle and edges to unknown vertices', () => {
    const pos = layeredLayout(
      {
        nodes: [{ id: 'a' }, { id: 'b' }],
        edges: [
          { source: 'a', target: 'b' },
          { source: 'b', target: 'a' },
          { source: 'a', target: 'zz' },
        ],
      },
      opts,
    );
    expect(pos.size).toBe(2);
  });
});
