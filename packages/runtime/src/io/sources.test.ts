import { describe, expect, it } from 'vitest';
import type { SourceSpec } from '@freshet/graph';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot } from '../checkpoint/snapshot-codec.js';
import { makeNode } from '../testing/fixture-graphs.js';
import type { OperatorContext, OperatorSnapshot, SourceOperator } from '../operator.js';
import { createSourceOperator } from './sources.js';

function drain(
  spec: SourceSpec,
  subtask: number,
  parallelism: number,
  generator?: (i: number) => unknown,
): { values: unknown[]; timestamps: number[] } {
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

  it("generates this subtask's share of Nexmark events with their event time", () => {
    const all = drain({ type: 'nexmark', seed: 3, events: 20 }, 0, 1);
    const share = drain({ type: 'nexmark', seed: 3, events: 20 }, 1, 2);
    expect(share.values).toEqual(all.values.filter((_, i) => i % 2 === 1));
    expect(share.timestamps.every((t) => t > 1_600_000_000_000)).toBe(true);
  });
});

/** A source subtask with a collecting output, opened from `restored` if given. */
function openSource(
  spec: SourceSpec,
  subtask: number,
  parallelism: number,
  restored?: OperatorSnapshot,
  generator?: (i: number) => unknown,
): { src: SourceOperator; values: unknown[] } {
  const values: unknown[] = [];
  const src = createSourceOperator(
    makeNode(1, 'source', 'src', { spec: { source: spec }, fns: generator ? { generator } : {} }),
  );
  const ctx = {
    subtaskIndex: subtask,
    parallelism,
    output: {
      collect: (v: unknown) => values.push(v),
      collectSide: () => undefined,
      emitWatermark: () => undefined,
      markIdle: () => undefined,
    },
    reportUserError: (e: unknown): never => {
      throw e;
    },
  } as unknown as OperatorContext;
  src.open(ctx, restored ? [restored] : undefined);
  return { src, values };
}

/** Emits batches of 7 until `max` records went out or the source ended; rate-limited sources are polled until due. */
function emitUpTo(src: SourceOperator, values: unknown[], max: number): 'MORE' | 'END' {
  const deadline = Date.now() + 10_000;
  while (values.length < max) {
    const r = src.emitNext(Math.min(7, max - values.length));
    if (r === 'END') return 'END';
    if (Date.now() > deadline) throw new Error('the source did not emit');
  }
  return 'MORE';
}

/** Through the codec, as a checkpoint does. */
const roundTrip = (s: OperatorSnapshot): OperatorSnapshot =>
  decodeSubtaskSnapshot(encodeSubtaskSnapshot(new Map([[1, s]]))).get(1)!;

/**
 * For every cut point: run a subtask up to the cut, snapshot, restore a
 * fresh instance and run it to the end; together they emit exactly what one
 * uninterrupted run emits.
 */
function expectExactResume(
  spec: SourceSpec,
  parallelism: number,
  cuts: number[],
  generator?: (i: number) => unknown,
): unknown[][] {
  const shares: unknown[][] = [];
  for (let subtask = 0; subtask < parallelism; subtask++) {
    const whole = openSource(spec, subtask, parallelism, undefined, generator);
    expect(emitUpTo(whole.src, whole.values, Number.POSITIVE_INFINITY)).toBe('END');
    for (const cut of cuts) {
      const first = openSource(spec, subtask, parallelism, undefined, generator);
      emitUpTo(first.src, first.values, cut);
      const snapshot = roundTrip(first.src.snapshotState(1));
      const second = openSource(spec, subtask, parallelism, snapshot, generator);
      expect(emitUpTo(second.src, second.values, Number.POSITIVE_INFINITY)).toBe('END');
      expect([...first.values, ...second.values], `subtask ${subtask} cut at ${cut}`).toEqual(whole.values);
      first.src.close();
      second.src.close();
    }
    shares.push(whole.values);
  }
  return shares;
}

describe('replayable sources resume exactly from their checkpointed position', () => {
  it('sequence, also rate-limited', () => {
    const shares = expectExactResume({ type: 'sequence', from: 1, to: 100 }, 2, [0, 1, 13, 49, 50]);
    expect(shares.flat()).toHaveLength(100);
    expectExactResume({ type: 'sequence', from: 1, to: 60, ratePerSecond: 20_000 }, 2, [0, 17, 30]);
  });

  it('generator, bounded and rate-limited', () => {
    const shares = expectExactResume({ type: 'generator', count: 50 }, 3, [0, 5, 16, 17], (i) => ({ i }));
    expect(shares.flat()).toHaveLength(50);
    expectExactResume({ type: 'generator', count: 40, ratePerSecond: 20_000 }, 2, [3, 19], (i) => i * i);
  });

  it('elements and collections', () => {
    const elements = Array.from({ length: 23 }, (_, i) => ({ id: i, tag: `e${i}` }));
    expectExactResume({ type: 'elements', elements }, 1, [0, 1, 7, 22, 23]);
    expect(expectExactResume({ type: 'elements', elements }, 2, [0, 5, 11]).flat()).toHaveLength(23);
  });

  it('nexmark, also rate-limited', () => {
    const shares = expectExactResume({ type: 'nexmark', seed: 7, events: 200 }, 2, [0, 1, 64, 99]);
    expect(shares.flat()).toHaveLength(200);
    expectExactResume({ type: 'nexmark', seed: 7, events: 60, ratePerSecond: 20_000 }, 2, [0, 9, 29]);
  });

  it('starts a subtask fresh when the snapshot is of another subtask or parallelism', () => {
    const first = openSource({ type: 'sequence', from: 1, to: 10 }, 0, 2);
    emitUpTo(first.src, first.values, 3);
    const snapshot = first.src.snapshotState(1);
    const other = openSource({ type: 'sequence', from: 1, to: 10 }, 0, 1, snapshot);
    emitUpTo(other.src, other.values, Number.POSITIVE_INFINITY);
    expect(other.values).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
