/**
 * Asynchronous heap snapshots: a snapshot packed a key group at a time after
 * its barrier holds the state of the barrier, however the operator and the
 * user's functions change the stored values in place meanwhile.
 */
import { describe, expect, it } from 'vitest';
import {
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '@freshet/api';
import { decodeSubtaskSnapshot } from '../checkpoint/snapshot-codec.js';
import type { OperatorSnapshot } from '../operator.js';
import { HeapKeyedStateBackend } from '../state/backend.js';
import { cloneStateData, NotClonableError } from '../state/snapshot-guard.js';
import { OperatorHarness, testNode } from '../testing/harness.js';
import { DeferredSnapshot } from './deferred-snapshot.js';

interface Acc {
  k: string;
  v: number;
  seen: number[];
}
const KEYS = 'abcdefghijklmnopqrstuvwxyz'.split('');

/** A rolling reduce whose function changes its accumulator in place and returns it (object reuse). */
const mutatingReduce = () =>
  testNode({
    kind: 'reduce',
    keyed: true,
    fns: {
      key: (e: never) => (e as Acc).k,
      reduce: (a: Acc, b: Acc) => {
        a.v += b.v;
        a.seen.push(b.v);
        return a;
      },
    },
  });
const rec = (k: string, v: number): Acc => ({ k, v, seen: [v] });
const OPTS = { maxParallelism: 16 };

function deferred(snapshot: OperatorSnapshot, onFinishNow: () => void = () => undefined): DeferredSnapshot {
  return new DeferredSnapshot(
    new Map([[1, snapshot]]),
    { checkpointId: 1, pieces: [], alignmentMs: 0, syncMs: 0 },
    onFinishNow,
  );
}

/** A heap backend owning all 16 key groups. */
const heapBackend = (): HeapKeyedStateBackend =>
  new HeapKeyedStateBackend({
    operatorName: 'op',
    maxParallelism: 16,
    keyGroupRange: { start: 0, end: 15 },
    now: () => 0,
  });

/** Each key's value after restoring `bytes` and folding one more record of 0 into it. */
function restoredValues(bytes: Uint8Array): Map<string, Acc> {
  const h = OperatorHarness.of(mutatingReduce(), OPTS).open([decodeSubtaskSnapshot(bytes).get(1)!]);
  for (const k of KEYS) h.processElement(rec(k, 0));
  return new Map(h.values<Acc>().map((a) => [a.k, a]));
}

describe('asynchronous heap snapshots', () => {
  it('a rolling reduce that changes its accumulator in place: the snapshot holds the values of the barrier', () => {
    const h = OperatorHarness.of(mutatingReduce(), OPTS).open();
    for (const k of KEYS) h.processElement(rec(k, 1)).processElement(rec(k, 2));
    const snapshot = h.snapshot(1);
    const d = deferred(snapshot);
    expect(h.head.guardSnapshot?.(d)).toBe(true);
    expect(d.remaining).toBeGreaterThan(1);
    // Packing goes on a key group at a time while every key's accumulator is changed in place.
    d.step(0);
    for (const k of KEYS) h.processElement(rec(k, 100));
    d.step(0);
    for (const k of KEYS) h.processElement(rec(k, 1000));
    const bytes = d.finish();
    expect(d.active).toBe(false);
    for (const [k, a] of restoredValues(bytes)) {
      expect(a, k).toEqual({ k, v: 3, seen: [1, 2, 0] });
    }
    // The running job saw every change.
    const live = h
      .values<Acc>()
      .filter((a) => a.k === 'a')
      .at(-1);
    expect(live).toEqual({ k: 'a', v: 1103, seen: [1, 2, 100, 1000] });
  });

  it('without the guard the same changes would reach the snapshot (what the copies prevent)', () => {
    const h = OperatorHarness.of(mutatingReduce(), OPTS).open();
    for (const k of KEYS) h.processElement(rec(k, 1)).processElement(rec(k, 2));
    const d = deferred(h.snapshot(1));
    for (const k of KEYS) h.processElement(rec(k, 100));
    const restored = restoredValues(d.finish());
    expect(restored.get('a')).toEqual({ k: 'a', v: 103, seen: [1, 2, 100, 0] });
  });

  it('user value, list, map and reducing state changed in place after the barrier restore as at the barrier', () => {
    const backend = heapBackend();
    const value = backend.getValueState(new ValueStateDescriptor<{ n: number; tags: Set<string> }>('value'));
    const list = backend.getListState(new ListStateDescriptor<{ x: number }>('list'));
    const map = backend.getMapState(new MapStateDescriptor<string, { y: number[] }>('map'));
    const reducing = backend.getReducingState(
      new ReducingStateDescriptor<{ sum: number }>('reducing', (a, b) => {
        a.sum += b.sum;
        return a;
      }),
    );
    for (const k of KEYS) {
      backend.setCurrentKey(k);
      value.update({ n: 1, tags: new Set(['t']) });
      list.add({ x: 1 });
      map.put('m', { y: [1] });
      reducing.add({ sum: 1 });
    }
    const keyed = backend.snapshot(1);
    const d = deferred({ keyed });
    expect(backend.guardSnapshot(d)).toBe(true);
    for (const k of KEYS) {
      backend.setCurrentKey(k);
      const v = value.value()!;
      v.n = 2;
      v.tags.add('u');
      list.add({ x: 2 });
      (list.get()[0] as { x: number }).x = 9;
      map.get('m')!.y.push(2);
      map.put('n', { y: [3] });
      reducing.add({ sum: 5 });
      d.step(0);
    }
    const snapshot = decodeSubtaskSnapshot(d.finish()).get(1)!;
    const restored = heapBackend();
    restored.restore([snapshot]);
    const v2 = restored.getValueState(new ValueStateDescriptor<{ n: number; tags: Set<string> }>('value'));
    const l2 = restored.getListState(new ListStateDescriptor<{ x: number }>('list'));
    const m2 = restored.getMapState(new MapStateDescriptor<string, { y: number[] }>('map'));
    const r2 = restored.getReducingState(
      new ReducingStateDescriptor<{ sum: number }>('reducing', (_a, b) => b),
    );
    for (const k of KEYS) {
      restored.setCurrentKey(k);
      expect(v2.value(), k).toEqual({ n: 1, tags: new Set(['t']) });
      expect(l2.get(), k).toEqual([{ x: 1 }]);
      expect([...m2.entries()], k).toEqual([['m', { y: [1] }]]);
      expect(r2.get(), k).toEqual({ sum: 1 });
      // The live state kept every change.
      backend.setCurrentKey(k);
      expect(value.value()).toEqual({ n: 2, tags: new Set(['t', 'u']) });
      expect(list.get()).toEqual([{ x: 9 }, { x: 2 }]);
      expect(reducing.get()).toEqual({ sum: 6 });
    }
  });

  it('a value that cannot be copied makes the task pack the snapshot before it changes', () => {
    class Counter {
      n = 1;
    }
    const backend = heapBackend();
    const value = backend.getValueState(new ValueStateDescriptor<Counter>('value'));
    for (const k of KEYS) {
      backend.setCurrentKey(k);
      value.update(new Counter());
    }
    let bytes: Uint8Array | undefined;
    const d = deferred({ keyed: backend.snapshot(1) }, () => {
      bytes = d.finish();
    });
    expect(backend.guardSnapshot(d)).toBe(true);
    backend.setCurrentKey('a');
    // The first touch packs the snapshot (finishNow), then hands out the value itself.
    const counter = value.value()!;
    expect(bytes).toBeDefined();
    expect(counter).toBeInstanceOf(Counter);
    counter.n = 5;
    const snapshot = decodeSubtaskSnapshot(bytes!).get(1)!;
    const restored = heapBackend();
    restored.restore([snapshot]);
    restored.setCurrentKey('a');
    expect(restored.getValueState(new ValueStateDescriptor<{ n: number }>('value')).value()).toEqual({
      n: 1,
    });
  });

  it('copies exactly the types state holds, and refuses the rest by name', () => {
    const data = {
      a: [1, 'x', null, undefined, true, 2n],
      m: new Map<unknown, unknown>([[1, { d: new Date(5) }]]),
      s: new Set([1, 2]),
      b: Buffer.from([1, 2]),
      f: new Float64Array([1.5]),
      u: new Uint8Array([7]),
      n: Object.assign(Object.create(null) as object, { z: 1 }),
    };
    const copy = cloneStateData(data);
    expect(copy).toEqual(data);
    expect(copy.m.get(1)).not.toBe(data.m.get(1));
    expect(Buffer.isBuffer(copy.b)).toBe(true);
    expect(copy.f).toBeInstanceOf(Float64Array);
    expect(copy.u.constructor).toBe(Uint8Array);
    expect(() => cloneStateData({ f: () => 1 })).toThrow(NotClonableError);
    expect(() => cloneStateData(new (class Thing {})())).toThrow(/a Thing in state/);
    const cycle: { self?: unknown } = {};
    cycle.self = cycle;
    expect(() => cloneStateData(cycle)).toThrow(/nested too deep/);
  });
});
