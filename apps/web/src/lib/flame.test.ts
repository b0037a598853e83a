import { describe, expect, it } from 'vitest';
import { flameLayout, frameAt, withoutIdle, type FlameFrame } from './flame';

const leaf = (name: string, total: number): FlameFrame => ({ name, self: total, total, children: [] });
const TREE: FlameFrame = {
  name: 'TaskManager',
  self: 0,
  total: 100,
  children: [
    { name: 'main thread', self: 10, total: 75, children: [leaf('emit', 50), leaf('poll', 15)] },
    { name: 'worker thread 1', self: 24.9, total: 25, children: [leaf('tiny', 0.1)] },
  ],
};

describe('flameLayout', () => {
  it('gives each frame its share of its parent, side by side, one row per depth', () => {
    const placed = flameLayout(TREE, [], 0.01);
    const at = (name: string) => placed.find((p) => p.frame.name === name)!;
    expect(at('TaskManager')).toMatchObject({ x: 0, width: 1, depth: 0, path: [] });
    expect(at('main thread')).toMatchObject({ x: 0, width: 0.75, depth: 1, path: [0] });
    expect(at('worker thread 1')).toMatchObject({ x: 0.75, width: 0.25, depth: 1, path: [1] });
    expect(at('emit')).toMatchObject({ x: 0, width: 0.5, depth: 2, path: [0, 0] });
    expect(at('poll')).toMatchObject({ x: 0.5, width: 0.15, depth: 2, path: [0, 1] });
    // A thousandth of the whole is under the minimum width: not drawn.
    expect(placed.some((p) => p.frame.name === 'tiny')).toBe(false);
  });

  it('zooms: the focused frame spans the width, keeping its path', () => {
    const placed = flameLayout(TREE, [0]);
    expect(placed.map((p) => [p.frame.name, p.x, p.width, p.depth, p.path])).toEqual([
      ['main thread', 0, 1, 0, [0]],
      ['emit', 0, 50 / 75, 1, [0, 0]],
      ['poll', 50 / 75, 15 / 75, 1, [0, 1]],
    ]);
    expect(frameAt(TREE, [0, 1]).name).toBe('poll');
    expect(frameAt(TREE, [7]).name).toBe('TaskManager');
  });
});

describe('withoutIdle', () => {
  it('drops idle frames and takes their time off every total above them', () => {
    const tree: FlameFrame = {
      name: 'job',
      self: 0,
      total: 100,
      children: [
        { name: 'main thread', self: 0, total: 60, children: [leaf('(idle)', 55), leaf('poll', 5)] },
        { name: 'worker thread 1', self: 0, total: 40, children: [leaf('(idle)', 10), leaf('emit', 30)] },
      ],
    };
    const busy = withoutIdle(tree);
    expect(busy.total).toBe(35);
    expect(busy.children.map((c) => [c.name, c.total, c.children.map((g) => g.name)])).toEqual([
      ['main thread', 5, ['poll']],
      ['worker thread 1', 30, ['emit']],
    ]);
    // The profile itself is left as it was.
    expect(tree.total).toBe(100);
  });
});
