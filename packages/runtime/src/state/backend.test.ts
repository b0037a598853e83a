import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type Key,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { keyGroupOf, keyGroupRange, subtaskForKey } from '../keygroups.js';
import type { OperatorSnapshot } from '../operator.js';
import { HeapKeyedStateBackend, type KeyGroupColumns } from './backend.js';

function backend(
  opts: { parallelism?: number; subtask?: number; maxParallelism?: number; clock?: { t: number } } = {},
) {
  const maxParallelism = opts.maxParallelism ?? 128;
  const clock = opts.clock ?? { t: 0 };
  return new HeapKeyedStateBackend({
    operatorName: 'op',
    maxParallelism,
    keyGroupRange: keyGroupRange(maxParallelism, opts.parallelism ?? 1, opts.subtask ?? 0),
    now: () => clock.t,
  });
}

describe('heap keyed state', () => {
  it('value state is per key, with a default value', () => {
    const b = backend();
    const s = b.getValueState(new ValueStateDescriptor<number>('count', 0));
    b.setCurrentKey('a');
    expect(s.value()).toBe(0);
    s.update(5);
    b.setCurrentKey('b');
    expect(s.value()).toBe(0);
    s.update(7);
    b.setCurrentKey('a');
    expect(s.value()).toBe(5);
    s.clear();
    expect(s.value()).toBe(0);
  });

  it('list, map, reducing and aggregating state', () => {
    const b = backend();
    const list = b.getListState(new ListStateDescriptor<string>('l'));
    const map = b.getMapState(new MapStateDescriptor<string, number>('m'));
    const red = b.getReducingState(new ReducingStateDescriptor<number>('r', (x, y) => x + y));
    const agg = b.getAggregatingState(
      new AggregatingStateDescriptor('g', {
        createAccumulator: () => [0, 0] as [number, number],
        add: (v: number, a: [number, number]) => [a[0] + v, a[1] + 1] as [number, number],
        getResult: (a: [number, number]) => a[0] / a[1],
        merge: (a: [number, number], c: [number, number]) => [a[0] + c[0], a[1] + c[1]] as [number, number],
      }),
    );
    b.setCurrentKey(1);
    expect(list.get()).toEqual([]);
    list.add('x');
    list.addAll(['y', 'z']);
    expect(list.get()).toEqual(['x', 'y', 'z']);
    list.update(['q']);
    expect(list.get()).toEqual(['q']);
    expect(map.isEmpty()).toBe(true);
    map.put('a', 1);
    map.put('b', 2);
    expect(map.get('a')).toBe(1);
    expect(map.contains('b')).toBe(true);
    expect([...map.entries()]).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect([...map.keys()]).toEqual(['a', 'b']);
    expect([...map.values()]).toEqual([1, 2]);
    map.remove('a');
    expect(map.contains('a')).toBe(false);
    expect(red.get()).toBeUndefined();
    red.add(2);
    red.add(3);
    expect(red.get()).toBe(5);
    agg.add(2);
    agg.add(4);
    expect(agg.get()).toBe(3);
    b.setCurrentKey(2);
    expect(list.get()).toEqual([]);
    expect(red.get()).toBeUndefined();
    expect(agg.get()).toBeUndefined();
  });

  it('the same name gives the same state; another kind is an error', () => {
    const b = backend();
    const s1 = b.getValueState(new ValueStateDescriptor<number>('x'));
    expect(b.getValueState(new ValueStateDescriptor<number>('x'))).toBe(s1);
    expect(() => b.getListState(new ListStateDescriptor<number>('x'))).toThrow(
      /'x' is a value state, requested as list state/,
    );
  });

  it('access without a current key is a clear error', () => {
    const b = backend();
    const s = b.getValueState(new ValueStateDescriptor<number>('x'));
    expect(() => s.value()).toThrow(/without a current key/);
  });
});

describe('state TTL', () => {
  it('OnCreateAndWrite: expires ttl after the last write, reads do not refresh; never returns expired', () => {
    const clock = { t: 0 };
    const b = backend({ clock });
    const s = b.getValueState(new ValueStateDescriptor<string>('v').enableTimeToLive({ ttlMs: 100 }));
    b.setCurrentKey('k');
    s.update('x');
    clock.t = 60;
    expect(s.value()).toBe('x');
    clock.t = 99;
    expect(s.value()).toBe('x');
    clock.t = 100;
    expect(s.value()).toBeUndefined();
  });

  it('OnReadAndWrite: reads refresh the lifetime', () => {
    const clock = { t: 0 };
    const b = backend({ clock });
    const s = b.getValueState(
      new ValueStateDescriptor<string>('v').enableTimeToLive({ ttlMs: 100, updateType: 'OnReadAndWrite' }),
    );
    b.setCurrentKey('k');
    s.update('x');
    clock.t = 90;
    expect(s.value()).toBe('x');
    clock.t = 180;
    expect(s.value()).toBe('x');
    clock.t = 280;
    expect(s.value()).toBeUndefined();
  });

  it('ReturnExpiredIfNotCleanedUp returns the stale value', () => {
    const clock = { t: 0 };
    const b = backend({ clock });
    const s = b.getValueState(
      new ValueStateDescriptor<string>('v').enableTimeToLive({
        ttlMs: 10,
        visibility: 'ReturnExpiredIfNotCleanedUp',
      }),
    );
    b.setCurrentKey('k');
    s.update('x');
    clock.t = 50;
    expect(s.value()).toBe('x');
  });

  it('applies per entry in map state and per key in list and reducing state; snapshots skip expired data', () => {
    const clock = { t: 0 };
    const b = backend({ clock });
    const m = b.getMapState(new MapStateDescriptor<string, number>('m').enableTimeToLive({ ttlMs: 100 }));
    const l = b.getListState(new ListStateDescriptor<number>('l').enableTimeToLive({ ttlMs: 100 }));
    const r = b.getReducingState(
      new ReducingStateDescriptor<number>('r', (x, y) => x + y).enableTimeToLive({ ttlMs: 100 }),
    );
    b.setCurrentKey('k');
    m.put('old', 1);
    l.add(1);
    r.add(1);
    clock.t = 50;
    m.put('new', 2);
    l.add(2); // a write refreshes the whole list
    clock.t = 120;
    expect([...m.entries()]).toEqual([['new', 2]]);
    expect(m.get('old')).toBeUndefined();
    expect(l.get()).toEqual([1, 2]);
    expect(r.get()).toBeUndefined();
    r.add(5);
    expect(r.get()).toBe(5);
    clock.t = 1000;
    const snap = b.snapshot();
    expect(Object.keys(snap)).toEqual([]);
  });
});

describe('key-group snapshots and rescaling', () => {
  const keys: Key[] = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? `key-${i}` : i));
  const maxParallelism = 32;

  function fill(parallelism: number): OperatorSnapshot[] {
    const snaps: OperatorSnapshot[] = [];
    for (let sub = 0; sub < parallelism; sub++) {
      const b = backend({ parallelism, subtask: sub, maxParallelism });
      const v = b.getValueState(new ValueStateDescriptor<string>('v'));
      const l = b.getListState(new ListStateDescriptor<number>('l'));
      const m = b.getMapState(new MapStateDescriptor<string, number>('m'));
      for (const k of keys) {
        if (subtaskForKey(k, maxParallelism, parallelism) !== sub) continue;
        b.setCurrentKey(k);
        v.update(`v-${k}`);
        l.addAll([1, 2]);
        m.put('x', String(k).length);
      }
      snaps.push({ keyed: b.snapshot() });
    }
    return snaps;
  }

  function check(snaps: OperatorSnapshot[], parallelism: number) {
    const seen = new Set<Key>();
    for (let sub = 0; sub < parallelism; sub++) {
      const b = backend({ parallelism, subtask: sub, maxParallelism });
      b.restore(snaps);
      // States registered after the restore receive their data on registration.
      const v = b.getValueState(new ValueStateDescriptor<string>('v'));
      const l = b.getListState(new ListStateDescriptor<number>('l'));
      const m = b.getMapState(new MapStateDescriptor<string, number>('m'));
      for (const k of keys) {
        b.setCurrentKey(k);
        const owned = subtaskForKey(k, maxParallelism, parallelism) === sub;
        if (owned) {
          expect(v.value()).toBe(`v-${k}`);
          expect(l.get()).toEqual([1, 2]);
          expect(m.get('x')).toBe(String(k).length);
          seen.add(k);
        } else {
          expect(v.value()).toBeUndefined();
        }
      }
      // Snapshots hold only this subtask's key groups.
      const range = keyGroupRange(maxParallelism, parallelism, sub);
      for (const kg of Object.keys(b.snapshot()).map(Number)) {
        expect(kg).toBeGreaterThanOrEqual(range.start);
        expect(kg).toBeLessThanOrEqual(range.end);
      }
    }
    expect(seen.size).toBe(keys.length);
  }

  it('restores 2 -> 3', () => {
    check(fill(2), 3);
  });
  it('restores 4 -> 1', () => {
    check(fill(4), 1);
  });
  it('restores at the same parallelism', () => {
    check(fill(3), 3);
  });
  it('snapshots are plain data that survive JSON', () => {
    const snaps = JSON.parse(JSON.stringify(fill(2))) as OperatorSnapshot[];
    check(snaps, 3);
  });

  it('writes each part of a key group as key and value columns, and still restores the pairs earlier versions wrote', () => {
    const snaps = fill(2);
    let entries = 0;
    for (const snap of snaps) {
      for (const group of Object.values(snap.keyed ?? {})) {
        for (const part of Object.values(group as Record<string, unknown>)) {
          const { keys, values } = part as KeyGroupColumns;
          expect(keys.length).toBe(values.length);
          entries += keys.length;
        }
      }
    }
    // 200 keys, each in the value, list and map state.
    expect(entries).toBe(600);
    // The layout of snapshots before the columns: `[key, data]` pairs per part.
    const asPairs = snaps.map((snap) => ({
      keyed: Object.fromEntries(
        Object.entries(snap.keyed ?? {}).map(([kg, group]) => [
          kg,
          Object.fromEntries(
            Object.entries(group as Record<string, KeyGroupColumns>).map(([name, { keys, values }]) => [
              name,
              keys.map((k, i) => [k, values[i]]),
            ]),
          ),
        ]),
      ),
    })) as OperatorSnapshot[];
    check(asPairs, 3);
  });

  it('names the state of a key group whose columns do not match', () => {
    const kg = keyGroupOf('a', maxParallelism);
    const b = backend({ maxParallelism });
    const corrupt = { keyed: { [kg]: { 's:v': { keys: ['a', 'b'], values: ['x'] } } } } as OperatorSnapshot;
    expect(() => {
      b.restore([corrupt]);
    }).toThrow("corrupt key group: state 's:v' has 2 keys but 1 values");
  });
});
