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
  restored?: OperatorSnapshot | OperatorSnapshot[],
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
  src.open(ctx, restored === undefined ? undefined : Array.isArray(restored) ? restored : [restored]);
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
});

/** A source subtask opened from several former subtasks' snapshots (a restore at another parallelism). */
const openFrom = (
  spec: SourceSpec,
  subtask: number,
  parallelism: number,
  restored: OperatorSnapshot[],
  generator?: (i: number) => unknown,
): { src: SourceOperator; values: unknown[] } => openSource(spec, subtask, parallelism, restored, generator);

/**
 * Former subtasks of `from` each run up to their cut and snapshot; every new
 * subtask of `to` restores from all the snapshots (union) and runs to the
 * end. Together they emit exactly what one uninterrupted run at `from` does,
 * each index once; returns the new subtasks' outputs.
 */
function expectExactRescale(
  spec: SourceSpec,
  from: number,
  to: number,
  cuts: number[],
  generator?: (i: number) => unknown,
): { before: unknown[]; after: unknown[][]; snapshots: OperatorSnapshot[] } {
  const whole: unknown[] = [];
  const before: unknown[] = [];
  const snapshots: OperatorSnapshot[] = [];
  for (let s = 0; s < from; s++) {
    const all = openSource(spec, s, from, undefined, generator);
    emitUpTo(all.src, all.values, Number.POSITIVE_INFINITY);
    whole.push(...all.values);
    const first = openSource(spec, s, from, undefined, generator);
    emitUpTo(first.src, first.values, cuts[s]!);
    before.push(...first.values);
    snapshots.push(roundTrip(first.src.snapshotState(1)));
  }
  const after: unknown[][] = [];
  for (let i = 0; i < to; i++) {
    const next = openFrom(spec, i, to, snapshots, generator);
    expect(emitUpTo(next.src, next.values, Number.POSITIVE_INFINITY)).toBe('END');
    after.push(next.values);
  }
  const key = (v: unknown): string => JSON.stringify(v);
  expect([...before, ...after.flat()].map(key).sort()).toEqual(whole.map(key).sort());
  return { before, after, snapshots };
}

describe('built-in sources restored at another parallelism share out what every former subtask had left', () => {
  it('sequence 2→3 and 3→1, each new share in order; rescaled again from its runs', () => {
    const spec: SourceSpec = { type: 'sequence', from: 1, to: 100 };
    const up = expectExactRescale(spec, 2, 3, [13, 40]);
    for (const share of up.after) expect(share).toEqual([...(share as number[])].sort((a, b) => a - b));
    // Balanced: what was left (100 - 53) is cut into three nearly equal pieces.
    expect(up.after.map((a) => a.length)).toEqual([15, 16, 16]);
    expectExactRescale(spec, 3, 1, [0, 10, 33]);

    // Twice: the 3 subtasks of the first rescale, cut mid-run, restore at 2 from their run lists.
    const mid: OperatorSnapshot[] = [];
    const emitted: unknown[] = [...up.before];
    for (let i = 0; i < 3; i++) {
      const r = openFrom(spec, i, 3, up.snapshots);
      emitUpTo(r.src, r.values, 5);
      emitted.push(...r.values);
      mid.push(roundTrip(r.src.snapshotState(2)));
    }
    for (let i = 0; i < 2; i++) {
      const r = openFrom(spec, i, 2, mid);
      expect(emitUpTo(r.src, r.values, Number.POSITIVE_INFINITY)).toBe('END');
      emitted.push(...r.values);
    }
    expect((emitted as number[]).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('elements 1→3 and 4→2', () => {
    const elements = Array.from({ length: 31 }, (_, i) => ({ id: i }));
    expectExactRescale({ type: 'elements', elements }, 1, 3, [7]);
    expectExactRescale({ type: 'elements', elements }, 4, 2, [0, 3, 7, 8]);
  });

  it('bounded generator 3→2 and 1→4', () => {
    expectExactRescale({ type: 'generator', count: 70 }, 3, 2, [4, 0, 11], (i) => i * 3);
    const out = expectExactRescale({ type: 'generator', count: 40 }, 1, 4, [9], (i) => i);
    // Four new subtasks share the single former progression: none is idle.
    expect(out.after.every((a) => a.length > 0)).toBe(true);
  });

  it('unbounded generator 2→3: every index once, none skipped', () => {
    const spec: SourceSpec = { type: 'generator' };
    const snapshots: OperatorSnapshot[] = [];
    const seen: number[] = [];
    for (const [s, cut] of [
      [0, 5],
      [1, 8],
    ] as const) {
      const r = openSource(spec, s, 2, undefined, (i) => i);
      emitUpTo(r.src, r.values, cut);
      seen.push(...(r.values as number[]));
      snapshots.push(roundTrip(r.src.snapshotState(1)));
    }
    for (let i = 0; i < 3; i++) {
      const r = openFrom(spec, i, 3, snapshots, (k) => k);
      expect(emitUpTo(r.src, r.values, 100)).toBe('MORE');
      seen.push(...(r.values as number[]));
    }
    const low = seen.filter((k) => k < 150).sort((a, b) => a - b);
    expect(low).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  it('a Nexmark source restored at another parallelism starts afresh and still resumes from its own snapshots', () => {
    const spec: SourceSpec = { type: 'nexmark', seed: 7, events: 60 };
    const old = openSource(spec, 0, 2);
    emitUpTo(old.src, old.values, 10);
    const fresh = openSource(spec, 0, 1, [roundTrip(old.src.snapshotState(1))]);
    emitUpTo(fresh.src, fresh.values, 20);
    const whole = openSource(spec, 0, 1);
    emitUpTo(whole.src, whole.values, Number.POSITIVE_INFINITY);
    expect(fresh.values).toEqual(whole.values.slice(0, 20));
    // Its snapshot is a position again, so a restore at the same parallelism goes on from it.
    const again = openSource(spec, 0, 1, roundTrip(fresh.src.snapshotState(2)));
    emitUpTo(again.src, again.values, Number.POSITIVE_INFINITY);
    expect([...fresh.values, ...again.values]).toEqual(whole.values);
  });

  it('a snapshot of the same subtask and parallelism resumes as before', () => {
    const first = openSource({ type: 'sequence', from: 1, to: 10 }, 1, 2);
    emitUpTo(first.src, first.values, 2);
    const again = openSource({ type: 'sequence', from: 1, to: 10 }, 1, 2, first.src.snapshotState(1));
    emitUpTo(again.src, again.values, Number.POSITIVE_INFINITY);
    expect([...first.values, ...again.values]).toEqual([6, 7, 8, 9, 10]);
  });
});
