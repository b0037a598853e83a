import { describe, expect, it } from 'vitest';
import type { SourceSpec } from '@freshet/graph';
import { makeNode } from '../testing/fixture-graphs.js';
import type { OperatorContext } from '../operator.js';
import { createSourceOperator } from './sources.js';

function drain(spec: SourceSpec, subtask: number, parallelism: number, generator?: (i: number) => unknown): { values: unknown[]; timestamps: number[] } {
  const values: unknown[] = [];
  const timestamps: number[] = [];
  const fns = generator ? { generator } : {};
  const src = createSourceOperator(makeNode(1, 'source', 'src', { spec: { source: spec }, fns }));
  const output = {
    collect: (v: unknown, t: number): void => {
      values.push(v);
      timestamps.push(t);
    },
    collectSide: (): void => undefined,
    emitWatermark: (): void => undefined,
    markIdle: (): void => undefined,
  };
  const ctx = {
    subtaskIndex: subtask,
    parallelism,
    output,
    reportUserError: (e: unknown): never => {
      throw e;
    },
  } as unknown as OperatorContext;
  src.open(ctx);
  let r: string;
  do r = src.emitNext(7);
  while (r === 'MORE');
  expect(r).toBe('END');
  return { values, timestamps };
}

describe('built-in sources', () => {
  it('split elements and sequences into contiguous shares', () => {
    const spec: SourceSpec = { type: 'sequence', from: 10, to: 19 };
    expect(drain(spec, 0, 3).values).toEqual([10, 11, 12]);
    expect(drain(spec, 2, 3).values).toEqual([16, 17, 18, 19]);
    expect(drain({ type: 'elements', elements: ['a', 'b', 'c'] }, 1, 2).values).toEqual(['b', 'c']);
  });

  it('splits generator indexes i mod p', () => {
    expect(drain({ type: 'generator', count: 10 }, 1, 3, (i) => i * 2).values).toEqual([2, 8, 14]);
  });

  it('generates this subtask\'s share of Nexmark events with their event time', () => {
    const all = drain({ type: 'nexmark', seed: 3, events: 20 }, 0, 1);
    const share = drain({ type: 'nexmark', seed: 3, events: 20 }, 1, 2);
    expect(share.values).toEqual(all.values.filter((_, i) => i % 2 === 1));
    expect(share.timestamps.every((t) => t > 1_600_000_000_000)).toBe(true);
  });
});
