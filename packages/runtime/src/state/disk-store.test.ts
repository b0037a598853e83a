import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type Key,
} from '@freshet/api';
import { afterEach, describe, expect, it } from 'vitest';
import { keyGroupRange, subtaskForKey } from '../keygroups.js';
import type { OperatorSnapshot } from '../operator.js';
import { HeapKeyedStateBackend, type KeyedGroupData, type KeyGroupSnapshot } from './backend.js';
import { decodeKeyGroup, DiskStateStore, PLAIN_CODEC } from './disk-store.js';
import {
  decodeSubtaskSnapshot,
  encodeSubtaskSnapshot,
  pieceRefsOf,
  resolveSubtaskSnapshot,
} from '../checkpoint/snapshot-codec.js';
import { isChainData } from './key-group-chain.js';

const parents: string[] = [];
function parentDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-disk-test-'));
  parents.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of parents.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function backend(
  disk: boolean,
  opts: { parallelism?: number; subtask?: number; cacheEntries?: number } = {},
) {
  return new HeapKeyedStateBackend({
    operatorName: 'op',
    maxParallelism: 128,
    keyGroupRange: keyGroupRange(128, opts.parallelism ?? 1, opts.subtask ?? 0),
    now: () => 0,
    ...(disk ? { disk: { dir: parentDir(), cacheEntries: opts.cacheEntries ?? 16 } } : {}),
  });
}

/** A snapshot with each key group's entries sorted, so two backends' snapshots compare equal. */
function normalized(snapshot: Record<number, KeyedGroupData>): Record<number, KeyGroupSnapshot> {
  const out: Record<number, KeyGroupSnapshot> = {};
  for (const [kg, data] of Object.entries(snapshot)) {
    const group = decodeKeyGroup(data)!;
    const g: KeyGroupSnapshot = {};
    for (const name of Object.keys(group).sort()) {
      g[name] = [...group[name]!].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    }
    out[Number(kg)] = g;
  }
  return out;
}

/** The same state operations on any backend: counts, lists, maps and sums over many keys. */
function exercise(b: HeapKeyedStateBackend, keys: number, rounds: number): void {
  const count = b.getValueState(new ValueStateDescriptor<number>('count', 0));
  const list = b.getListState(new ListStateDescriptor<string>('list'));
  const map = b.getMapState(new MapStateDescriptor<string, { n: number }>('map'));
  const sum = b.getReducingState(new ReducingStateDescriptor<number>('sum', (x, y) => x + y));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < keys; k++) {
      const key: Key = k % 3 === 0 ? k : `key-${k}`;
      b.setCurrentKey(key);
      count.update(count.value()! + 1);
      list.add(`${r}`);
      const entry = map.get(`r${r % 2}`);
      if (entry) entry.n += 1;
      else map.put(`r${r % 2}`, { n: 1 });
      sum.add(k * r);
      if (k % 10 === 9 && r === rounds - 1) count.clear();
    }
  }
}

describe('DiskStateMap', () => {
  it('keeps every key across flushes of a small cache, including values changed in place', () => {
    const store = new DiskStateStore(128, { dir: parentDir(), cacheEntries: 8 });
    const map = store.map<{ n: number; tags: string[] }>('m', PLAIN_CODEC as never);
    for (let k = 0; k < 1000; k++) map.set(k, { n: k, tags: [] });
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 1000; k++) {
        const v = map.get(k)!;
        v.n += 1;
        v.tags.push(`r${round}`);
      }
    }
    expect(map.cachedEntries()).toBeLessThanOrEqual(8);
    for (let k = 0; k < 1000; k++) expect(map.get(k)).toEqual({ n: k + 3, tags: ['r0', 'r1', 'r2'] });
    for (let k = 0; k < 1000; k += 2) map.delete(k);
    expect(map.has(0)).toBe(false);
    expect(map.has(1)).toBe(true);
    expect(map.get(0)).toBeUndefined();
    expect(map.size).toBe(500);
    const seen = [...map].map(([k]) => k as number).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => 2 * i + 1));
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get(1)).toBeUndefined();
    store.close();
  });

  it('lives in its own directory, removed on close; a dead process leaves none behind for long', () => {
    const parent = parentDir();
    const a = new DiskStateStore(128, { dir: parent });
    const b = new DiskStateStore(128, { dir: parent });
    expect(a.dir).not.toBe(b.dir);
    a.map('x', PLAIN_CODEC).set('k', 1);
    expect(existsSync(a.dir)).toBe(true);
    a.close();
    expect(existsSync(a.dir)).toBe(false);
    // A store left by a process that is gone (pid 2^22 + 1 is above Linux's pid_max) is removed by the next one.
    const stale = join(parent, `freshet-state-${2 ** 22 + 1}-abc`);
    mkdirSync(stale);
    const c = new DiskStateStore(128, { dir: parent });
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(parent).sort()).toEqual([b.dir, c.dir].map((d) => d.slice(parent.length + 1)).sort());
    b.close();
    c.close();
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('the disk keyed state backend', () => {
  it('holds the same state as the heap backend and writes the same snapshot', () => {
    const heap = backend(false);
    const disk = backend(true, { cacheEntries: 16 });
    exercise(heap, 500, 4);
    exercise(disk, 500, 4);
    const count = disk.getValueState(new ValueStateDescriptor<number>('count', 0));
    const list = disk.getListState(new ListStateDescriptor<string>('list'));
    disk.setCurrentKey('key-7');
    expect(count.value()).toBe(4);
    expect(list.get()).toEqual(['0', '1', '2', '3']);
    disk.setCurrentKey('key-19');
    expect(count.value()).toBe(0);
    expect(normalized(disk.snapshot())).toEqual(normalized(heap.snapshot()));
    disk.dispose();
  });

  it('restores a heap snapshot at another parallelism, keeping only its key groups', () => {
    const heap = backend(false);
    exercise(heap, 300, 2);
    const snapshot: OperatorSnapshot = { keyed: heap.snapshot() };
    for (let subtask = 0; subtask < 2; subtask++) {
      const disk = backend(true, { parallelism: 2, subtask, cacheEntries: 8 });
      disk.restore([snapshot]);
      const count = disk.getValueState(new ValueStateDescriptor<number>('count', 0));
      const map = disk.getMapState(new MapStateDescriptor<string, { n: number }>('map'));
      for (let k = 0; k < 300; k++) {
        const key: Key = k % 3 === 0 ? k : `key-${k}`;
        disk.setCurrentKey(key);
        const owned = subtaskForKey(key, 128, 2) === subtask;
        expect(count.value()).toBe(owned ? (k % 10 === 9 ? 0 : 2) : 0);
        expect(map.get('r1')).toEqual(owned ? { n: 1 } : undefined);
      }
      // Written back, the restored state is exactly its key groups of the heap snapshot.
      const expected: Record<number, KeyGroupSnapshot> = {};
      const range = keyGroupRange(128, 2, subtask);
      for (const [kg, group] of Object.entries(snapshot.keyed!)) {
        if (Number(kg) >= range.start && Number(kg) <= range.end)
          expected[Number(kg)] = group as KeyGroupSnapshot;
      }
      expect(normalized(disk.snapshot())).toEqual(normalized(expected));
      disk.dispose();
    }
  });
});

describe('delta snapshots of the disk backend', () => {
  /** Stores a backend's snapshots by checkpoint id and resolves them as a restore does. */
  function pieces(b: HeapKeyedStateBackend) {
    const stored = new Map<number, Uint8Array>();
    return {
      snapshot(id: number) {
        const snapshots = new Map([[1, { keyed: b.snapshot(id) }]]);
        stored.set(id, encodeSubtaskSnapshot(snapshots));
        return { refs: pieceRefsOf(snapshots), keyed: snapshots.get(1)!.keyed };
      },
      async resolved(id: number): Promise<Record<number, KeyedGroupData>> {
        const bytes = await resolveSubtaskSnapshot(stored.get(id)!, (ref) =>
          Promise.resolve(stored.get(ref)!),
        );
        return decodeSubtaskSnapshot(bytes).get(1)!.keyed as Record<number, KeyedGroupData>;
      },
    };
  }

  /** A few keys change on both backends: counts, list appends, removals (every `salt`-th key). */
  function touch(backends: readonly HeapKeyedStateBackend[], salt: number): void {
    for (const b of backends) {
      const count = b.getValueState(new ValueStateDescriptor<number>('count', 0));
      const list = b.getListState(new ListStateDescriptor<string>('list'));
      for (let k = salt; k < 500; k += 37) {
        const key: Key = k % 3 === 0 ? k : `key-${k}`;
        b.setCurrentKey(key);
        if (k % 2 === 0) count.clear();
        else count.update(salt);
        list.add(`t${salt}`);
      }
    }
  }

  it('resolves to the heap backend state through overlapping, completed late and aborted snapshots', async () => {
    const heap = backend(false);
    const disk = backend(true, { cacheEntries: 16 });
    exercise(heap, 500, 2);
    exercise(disk, 500, 2);
    const p = pieces(disk);
    const same = async (id: number) => {
      expect(normalized(await p.resolved(id))).toEqual(normalized(heap.snapshot()));
    };
    expect(p.snapshot(1).refs).toEqual([]);
    disk.notifyCheckpointComplete(1);
    touch([heap, disk], 1);
    // Deltas on top of checkpoint 1.
    const second = p.snapshot(2);
    expect(second.refs).toEqual([1]);
    expect(Object.values(second.keyed).some((d) => isChainData(d) && d[2] !== null)).toBe(true);
    await same(2);
    touch([heap, disk], 2);
    // Taken while 2 is pending: against checkpoint 1 still, with 2's changes too.
    expect(p.snapshot(3).refs).toEqual([1]);
    await same(3);
    disk.notifyCheckpointAborted(3);
    disk.notifyCheckpointComplete(2);
    touch([heap, disk], 3);
    // After the abort, whole: the changes 3 took are in no completed piece.
    expect(p.snapshot(4).refs).toEqual([]);
    await same(4);
    disk.notifyCheckpointComplete(4);
    touch([heap, disk], 4);
    expect(p.snapshot(5).refs).toEqual([4]);
    await same(5);
    touch([heap, disk], 5);
    p.snapshot(6);
    await same(6);
    // 6 completes before 5: 5's late notice changes nothing.
    disk.notifyCheckpointComplete(6);
    disk.notifyCheckpointComplete(5);
    touch([heap, disk], 6);
    p.snapshot(7);
    touch([heap, disk], 7);
    // 8 is taken while 7 is pending; 7 completes, then 8: 8's chains are on top of 6's.
    const eighth = p.snapshot(8);
    expect(eighth.refs).toEqual([4, 6]);
    disk.notifyCheckpointComplete(7);
    disk.notifyCheckpointComplete(8);
    await same(8);
    touch([heap, disk], 8);
    expect(p.snapshot(9).refs).toEqual([4, 6, 8]);
    await same(9);
    // The heap backend's snapshots stay full: nothing to refer to.
    expect(pieceRefsOf(new Map([[1, { keyed: heap.snapshot(9) }]]))).toEqual([]);
    disk.dispose();
  });

  it('a cleared map writes its key groups whole', async () => {
    const disk = backend(true, { cacheEntries: 16 });
    const map = disk.stateMap<unknown>('x', PLAIN_CODEC);
    for (let k = 0; k < 300; k++) map.set(k, k);
    const p = pieces(disk);
    p.snapshot(1);
    disk.notifyCheckpointComplete(1);
    map.set(1, 100);
    expect(p.snapshot(2).refs).toEqual([1]);
    disk.notifyCheckpointComplete(2);
    map.clear();
    map.set(2, 200);
    map.set(3, 300);
    const third = p.snapshot(3);
    expect(third.refs).toEqual([]);
    const resolved = normalized(await p.resolved(3));
    const entries = Object.values(resolved).flatMap((g) => g.x ?? []);
    expect(entries.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [2, 200],
      [3, 300],
    ]);
    disk.dispose();
  });
});
