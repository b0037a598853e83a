/**
 * Incremental checkpoints of the disk keyed state backend, through the real
 * parts a host wires together: disk backends (LMDB) holding a keyed
 * vertex's state, the snapshot codec, a directory checkpoint storage and the
 * checkpoint coordinator (with a hand-driven clock). The test plays the host
 * (the mini-cluster's or the JobManager's role): it stores each snapshot,
 * acknowledges it with the pieces it refers to, writes `_metadata`, passes
 * completions and aborts on, and carries out the coordinator's discards.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ValueStateDescriptor, type Key } from '@freshet/api';
import { afterAll, describe, expect, it } from 'vitest';
import { keyGroupOf, keyGroupRange } from '../keygroups.js';
import type { OperatorSnapshot } from '../operator.js';
import { HeapKeyedStateBackend } from '../state/backend.js';
import { isChainData } from '../state/key-group-chain.js';
import { fixtureJob } from '../testing/fixture-graphs.js';
import { CheckpointCoordinator, type CompletedCheckpoint, type CoordinatorClock } from './coordinator.js';
import { DirectoryCheckpointStorage } from './directory-storage.js';
import { checkpointMetadataOf } from './metadata.js';
import { inspectRestorePoint, openRestorePoint, writeSavepoint } from './savepoint.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot, pieceRefsOf } from './snapshot-codec.js';

const root = mkdtempSync(join(tmpdir(), 'freshet-incr-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
let dirs = 0;
const fresh = (name: string): string => {
  const dir = join(root, `${name}-${++dirs}`);
  mkdirSync(dir);
  return dir;
};

/** Timers fire only when the test says so (none needed: checkpoints are triggered by hand). */
const clock: CoordinatorClock = { now: () => 1_000_000, setTimeout: () => 0, clearTimeout: () => undefined };
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** keyedSum at p=2: v1 (source -> map) and v3 (reduce -> sink); v3 keeps the keyed state here. */
const { jobGraph } = fixtureJob('keyedSum', { p: 2 });
const [SRC, SUM] = jobGraph.vertices as [(typeof jobGraph.vertices)[0], (typeof jobGraph.vertices)[0]];
const NODE = SUM.operators[0]!.nodeId;
const MAX = SUM.maxParallelism;
const KEYS = 3000;
const COUNT = new ValueStateDescriptor<number>('count', 0);

function diskBackend(parallelism: number, subtask: number): HeapKeyedStateBackend {
  return new HeapKeyedStateBackend({
    operatorName: 'sum',
    maxParallelism: MAX,
    keyGroupRange: keyGroupRange(MAX, parallelism, subtask),
    now: () => 0,
    disk: { dir: fresh('store'), cacheEntries: 64 },
  });
}

/** Removes `key`'s count (the state's `clear` for that key) in whichever backend owns its key group. */
function remove(backends: readonly HeapKeyedStateBackend[], key: Key): void {
  const kg = keyGroupOf(key, MAX);
  const b = backends[Math.floor((kg * backends.length) / MAX)]!;
  b.setCurrentKey(key);
  b.getValueState(COUNT).clear();
}

/** A seeded pseudo-random sequence in [0, 1) (the same keys change on every run). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Sets `key`'s count in whichever backend owns its key group. */
function put(backends: readonly HeapKeyedStateBackend[], key: Key, value: number): void {
  const kg = keyGroupOf(key, MAX);
  const b = backends[Math.floor((kg * backends.length) / MAX)]!;
  b.setCurrentKey(key);
  b.getValueState(COUNT).update(value);
}

/** Every key's count as the backends hold it (-1: none). */
function counts(backends: readonly HeapKeyedStateBackend[], keys = KEYS): number[] {
  const out: number[] = [];
  for (let k = 0; k < keys; k++) {
    const kg = keyGroupOf(k, MAX);
    const b = backends[Math.floor((kg * backends.length) / MAX)]!;
    b.setCurrentKey(k);
    out.push(b.getValueState(COUNT).value() ?? -1);
  }
  return out;
}

/** Whether a key group's snapshot data holds data of its own (whole or a delta), not only a reference. */
function writesData(data: unknown): boolean {
  if (typeof data === 'number') return false;
  return !(isChainData(data) && data[2] === null);
}

/** Checkpoint `id` restores into disk backends at parallelism 2, 1 and 3 with exactly the counts `expected`. */
async function expectRestores(storage: DirectoryCheckpointStorage, id: number, expected: readonly number[]) {
  for (const parallelism of [2, 1, 3]) {
    const restored = await restoreAt(storage, id, parallelism);
    expect(counts(restored, expected.length)).toEqual(expected);
    for (const b of restored) b.dispose();
  }
}

/** Handles (own and referred to) of the coordinator's retained checkpoints, and their `_metadata` files. */
function retainedFiles(coordinator: CheckpointCoordinator): string[] {
  const out = new Set<string>();
  for (const c of coordinator.completedCheckpoints) {
    out.add(`chk-${c.checkpointId}/_metadata`);
    for (const s of c.subtasks) {
      out.add(s.handle);
      for (const p of s.pieces ?? []) out.add(p.handle);
    }
  }
  return [...out].sort();
}

/** What a subtask stored for one checkpoint. */
interface Stored {
  handle: string;
  bytes: number;
  pieces: number[];
  /** Key groups written as data, whole or as a delta (not only referred to). */
  written: number;
}

/** A job of two SUM subtasks on the disk backend, checkpointed by a coordinator into a directory storage. */
function job(
  options: { retain?: number; completed?: readonly CompletedCheckpoint[]; storage?: string } = {},
) {
  const storage = new DirectoryCheckpointStorage(options.storage ?? fresh('checkpoints'));
  const backends = [diskBackend(2, 0), diskBackend(2, 1)];
  const io: Promise<unknown>[] = [];
  const events: string[] = [];
  const coordinator = new CheckpointCoordinator({
    jobId: 'job',
    jobGraph,
    checkpointing: {
      intervalMs: 3_600_000,
      mode: 'EXACTLY_ONCE',
      timeoutMs: 3_600_000,
      minPauseBetweenCheckpointsMs: 0,
      tolerableCheckpointFailureNumber: -1,
      maxRetainedCheckpoints: options.retain ?? 3,
    },
    clock,
    ...(options.completed ? { completed: options.completed } : {}),
    hooks: {
      triggerSources: () => undefined,
      persistCompleted: async (c) => {
        await storage.writeMetadata(checkpointMetadataOf(jobGraph, c));
      },
      notifyComplete: (id) => {
        events.push(`complete ${id}`);
        for (const b of backends) b.notifyCheckpointComplete(id);
      },
      notifyAborted: (id, reason) => {
        events.push(`aborted ${id}: ${reason}`);
        for (const b of backends) b.notifyCheckpointAborted(id);
      },
      finishExecutions: () => undefined,
      discard: (request) => {
        io.push(storage.discard('job', request));
      },
      failJob: (error) => {
        throw error;
      },
    },
  });
  coordinator.startAttempt(0);
  for (const v of [SRC, SUM]) for (let s = 0; s < 2; s++) coordinator.executionRunning(v.id, s, 0);

  /** One subtask snapshots for checkpoint `id`, stores it and acknowledges it. */
  const ack = async (id: number, vertexId: string, subtask: number, extraPieces: number[] = []) => {
    const snapshots = new Map<number, OperatorSnapshot>();
    if (vertexId === SUM.id) snapshots.set(NODE, { keyed: backends[subtask]!.snapshot(id) });
    const pieces = [...pieceRefsOf(snapshots), ...extraPieces];
    const bytes = encodeSubtaskSnapshot(snapshots);
    const handle = await storage.writeState(
      { jobId: 'job', checkpointId: id, attempt: 0, vertexId, subtask },
      bytes,
    );
    coordinator.acknowledge({
      checkpointId: id,
      vertexId,
      subtask,
      attempt: 0,
      handle,
      bytes: bytes.byteLength,
      pieces,
      alignmentMs: 0,
      syncMs: 0,
      asyncMs: 0,
    });
    let written = 0;
    for (const data of Object.values(snapshots.get(NODE)?.keyed ?? {})) if (writesData(data)) written++;
    return { handle, bytes: bytes.byteLength, pieces, written } satisfies Stored;
  };

  /** Takes a checkpoint of every subtask; returns what the SUM subtasks stored. */
  const checkpoint = async (): Promise<{ id: number; sum: Stored[] }> => {
    const id = coordinator.triggerCheckpoint();
    if (id === undefined) throw new Error('no checkpoint could be triggered');
    await ack(id, SRC.id, 0);
    await ack(id, SRC.id, 1);
    const sum = [await ack(id, SUM.id, 0), await ack(id, SUM.id, 1)];
    // Until its `_metadata` is written and the completion passed on.
    while (coordinator.pendingCheckpoint !== undefined) await settle();
    await Promise.all(io.splice(0));
    return { id, sum };
  };

  /** Every file of the job's checkpoint directory, relative to it. */
  const files = (): string[] => {
    const jobDir = storage.jobDir('job');
    return readdirSync(jobDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(jobDir, join(e.parentPath, e.name)))
      .sort();
  };

  const dispose = () => {
    for (const b of backends) b.dispose();
  };
  return { storage, backends, coordinator, events, ack, checkpoint, files, dispose, io };
}

/** The state of checkpoint `id` (or of the savepoint in `dir`), restored into disk backends at `parallelism`. */
async function restoreAt(storage: DirectoryCheckpointStorage, id: number, parallelism: number, dir?: string) {
  const point = await openRestorePoint(dir ?? storage.checkpointDir('job', id), [dir ?? storage.root]);
  const vertex = point.metadata.vertices.find((v) => v.id === SUM.id)!;
  const snapshots: OperatorSnapshot[] = [];
  for (const s of vertex.subtasks) {
    const decoded = decodeSubtaskSnapshot(await point.readState(s.handle));
    snapshots.push(decoded.get(NODE)!);
  }
  const backends = Array.from({ length: parallelism }, (_, s) => diskBackend(parallelism, s));
  for (const b of backends) b.restore(snapshots);
  return backends;
}

describe('incremental checkpoints of the disk backend', () => {
  it('writes only the key groups changed since the last completed checkpoint and restores exactly at any parallelism', async () => {
    const j = job();
    const expected: number[] = [];
    for (let k = 0; k < KEYS; k++) {
      put(j.backends, k, k * 10);
      expected.push(k * 10);
    }
    const first = await j.checkpoint();
    expect(first.sum.map((s) => s.pieces)).toEqual([[], []]);
    // Every key group holds keys: the first checkpoint writes all of them.
    expect(first.sum[0]!.written + first.sum[1]!.written).toBe(MAX);

    // 1 % of the keys change, in a few key groups.
    const changed = [
      7, 8, 1500, 2999, 123, 77, 640, 641, 642, 2000, 2001, 2002, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
      21, 22, 23, 24, 25, 26, 27,
    ];
    for (const k of changed) {
      put(j.backends, k, -k);
      expected[k] = -k;
    }
    const groups = new Set(changed.map((k) => keyGroupOf(k, MAX)));
    const second = await j.checkpoint();
    expect(second.sum[0]!.written + second.sum[1]!.written).toBe(groups.size);
    for (const s of second.sum) expect(s.pieces).toEqual([first.id]);
    const fullBytes = first.sum[0]!.bytes + first.sum[1]!.bytes;
    const incrementalBytes = second.sum[0]!.bytes + second.sum[1]!.bytes;
    expect(incrementalBytes).toBeLessThan(fullBytes / 3);

    // The metadata lists each subtask's own handle and the pieces it refers to; sizes both ways.
    const metadata = await j.storage.readMetadata('job', second.id);
    expect(metadata.version).toBe(2);
    const sumMeta = metadata.vertices.find((v) => v.id === SUM.id)!;
    expect(sumMeta.subtasks.map((s) => s.pieces?.map((p) => [p.checkpointId, p.handle]))).toEqual([
      [[first.id, first.sum[0]!.handle]],
      [[first.id, first.sum[1]!.handle]],
    ]);
    expect(metadata.fullBytes! - metadata.checkpointedBytes!).toBe(fullBytes);
    expect(j.coordinator.latestCompleted!.fullBytes).toBe(metadata.fullBytes);

    // A third checkpoint with nothing changed refers to both earlier pieces and writes no key group.
    const third = await j.checkpoint();
    expect(third.sum.map((s) => s.written)).toEqual([0, 0]);
    expect(third.sum.map((s) => s.pieces)).toEqual([
      [first.id, second.id].filter((id) => second.sum[0]!.written > 0 || id === first.id),
      [first.id, second.id].filter((id) => second.sum[1]!.written > 0 || id === first.id),
    ]);

    for (const parallelism of [2, 1, 3]) {
      const restored = await restoreAt(j.storage, third.id, parallelism);
      expect(counts(restored)).toEqual(expected);
      for (const b of restored) b.dispose();
    }

    // A savepoint of the incremental checkpoint is self-contained: it still restores once the checkpoints are gone.
    const savepointDir = fresh('savepoint');
    const written = await writeSavepoint(
      savepointDir,
      await j.storage.readMetadata('job', third.id),
      'savepoint',
      (h) => j.storage.readState('job', h),
    );
    expect(written.vertices.flatMap((v) => v.subtasks).every((s) => s.pieces === undefined)).toBe(true);
    await j.storage.discardJob('job');
    const inspected = await inspectRestorePoint(await openRestorePoint(savepointDir, [savepointDir]));
    const sumInspected = inspected.find((v) => v.id === SUM.id)!;
    expect(sumInspected.subtasks.map((s) => s.operators[0]!.keyGroups)).toEqual([MAX / 2, MAX / 2]);
    expect(sumInspected.subtasks.reduce((n, s) => n + s.operators[0]!.states.count!, 0)).toBe(KEYS);
    const restored = await restoreAt(j.storage, third.id, 3, savepointDir);
    expect(counts(restored)).toEqual(expected);
    for (const b of restored) b.dispose();
    j.dispose();
  });

  it('writes again what an aborted checkpoint wrote, and a snapshot referring to a discarded piece is refused', async () => {
    const j = job();
    for (let k = 0; k < KEYS; k++) put(j.backends, k, 1);
    const first = await j.checkpoint();
    put(j.backends, 42, 4242);
    // Checkpoint 2 stores SUM#0's snapshot (key 42's group written) but is declined by a source.
    const id = j.coordinator.triggerCheckpoint()!;
    const owner = keyGroupOf(42, MAX) < MAX / 2 ? 0 : 1;
    const declined = await j.ack(id, SUM.id, owner);
    expect(declined.written).toBe(1);
    j.coordinator.decline(id, SRC.id, 0, 0, 'the test declines it');
    await Promise.all(j.io.splice(0));
    expect(j.events.at(-1)).toMatch(new RegExp(`^aborted ${id}`));
    // The aborted checkpoint's piece is gone; the next checkpoint refers to nothing uncompleted.
    expect(j.files()).not.toContain(declined.handle);
    const next = await j.checkpoint();
    // The subtask that took the aborted snapshot writes all its key groups; the other one took none and refers on.
    expect(next.sum[owner]!.pieces).toEqual([]);
    expect(next.sum[owner]!.written).toBe(MAX / 2);
    expect(next.sum[1 - owner]!.pieces).toEqual([first.id]);
    expect(next.sum[1 - owner]!.written).toBe(0);
    const restored = await restoreAt(j.storage, next.id, 2);
    const expected = Array.from({ length: KEYS }, (_, k) => (k === 42 ? 4242 : 1));
    expect(counts(restored)).toEqual(expected);
    for (const b of restored) b.dispose();

    // An acknowledgement naming a piece no retained checkpoint holds (a completion notice still on its way) aborts.
    const bad = j.coordinator.triggerCheckpoint()!;
    await j.ack(bad, SUM.id, 0, [first.id + 1000]);
    expect(j.events.at(-1)).toMatch(
      new RegExp(`^aborted ${bad}: .*not all of which a retained checkpoint holds`),
    );
    j.dispose();
  });

  it('retention deletes exactly the pieces no retained checkpoint uses, also after a JobManager restart', async () => {
    const dir = fresh('checkpoints');
    let j = job({ retain: 2, storage: dir });
    for (let k = 0; k < KEYS; k++) put(j.backends, k, 0);
    const expected = new Array<number>(KEYS).fill(0);
    const wanted = () => retainedFiles(j.coordinator);
    let round = 0;
    const step = async () => {
      // About 1 % of the keys change per interval (a sliding window of keys, so old pieces go out of use).
      for (let i = 0; i < 30; i++) {
        const k = (round * 97 + i * 31) % KEYS;
        put(j.backends, k, round);
        expected[k] = round;
      }
      round++;
      const c = await j.checkpoint();
      expect(j.files()).toEqual(wanted());
      for (const s of c.sum) {
        const keyed = decodeSubtaskSnapshot(await j.storage.readState('job', s.handle)).get(NODE)!.keyed!;
        for (const data of Object.values(keyed)) {
          if (isChainData(data) && data[2] !== null) kinds.delta++;
          else if (data instanceof Uint8Array) kinds.whole++;
        }
      }
    };
    /** Key groups written as deltas and whole (after the first checkpoint: compactions) over the steps. */
    const kinds = { delta: 0, whole: 0 };
    for (let i = 0; i < 8; i++) await step();
    // The retained files are exactly the needed ones with chains of deltas.
    expect(kinds.delta).toBeGreaterThan(0);
    // Some pieces of checkpoints older than the two retained ones are still in use, and kept.
    const oldest = j.coordinator.completedCheckpoints[0]!.checkpointId;
    expect(
      j.files().some((f) => Number(/^chk-(\d+)\//.exec(f)?.[1]) < oldest && !f.endsWith('_metadata')),
    ).toBe(true);

    // A JobManager restart: a new coordinator gets the retained checkpoints (as the job store hands them back).
    const completed = [...j.coordinator.completedCheckpoints];
    const backends = j.backends;
    j = { ...job({ retain: 2, storage: dir, completed }) };
    // The same task state lives on (the executions kept running across the JobManager's restart).
    for (const b of j.backends) b.dispose();
    j.backends.splice(0, 2, ...backends);
    const before = { ...kinds };
    for (let i = 0; i < 6; i++) await step();
    expect(kinds.delta).toBeGreaterThan(before.delta);
    // Some chains were rewritten whole on the way (compaction), the files still exactly the needed ones.
    expect(kinds.whole).toBeGreaterThan(MAX);
    const restored = await restoreAt(j.storage, j.coordinator.latestCompleted!.checkpointId, 3);
    expect(counts(restored)).toEqual(expected);
    for (const b of restored) b.dispose();
    for (const b of backends) b.dispose();
  });
});

describe('delta pieces of the disk backend', () => {
  /** The key group data SUM subtask `subtask` stored for a checkpoint, by key group. */
  const keyedOf = async (j: ReturnType<typeof job>, stored: Stored) =>
    decodeSubtaskSnapshot(await j.storage.readState('job', stored.handle)).get(NODE)!.keyed!;

  it('with 1 % of the keys changed over 128 key groups writes a small fraction of the full bytes, and restores exactly', async () => {
    const keys = 20_000;
    const j = job();
    const expected: number[] = [];
    for (let k = 0; k < keys; k++) {
      put(j.backends, k, k);
      expected.push(k);
    }
    const first = await j.checkpoint();
    const fullBytes = first.sum[0]!.bytes + first.sum[1]!.bytes;
    const next = random(7);
    /** Per key group, the checkpoints that wrote a delta of it. */
    const deltas = Array.from({ length: MAX }, (): number[] => []);
    for (let round = 1; round <= 3; round++) {
      const roundGroups = new Set<number>();
      for (let i = 0; i < keys / 100; i++) {
        const k = Math.floor(next() * keys);
        put(j.backends, k, -round * k - 1);
        expected[k] = -round * k - 1;
        roundGroups.add(keyGroupOf(k, MAX));
      }
      // Most key groups changed: written whole, the checkpoint would be about as big as a full one.
      expect(roundGroups.size).toBeGreaterThan(MAX * 0.75);
      const c = await j.checkpoint();
      for (const kg of roundGroups) deltas[kg]!.push(c.id);
      const bytes = c.sum[0]!.bytes + c.sum[1]!.bytes;
      expect(bytes).toBeLessThan(fullBytes * 0.15);
      // Each key group is its first checkpoint's buffer and a delta per interval it changed in.
      for (const s of c.sum) {
        const pieces = new Set<number>();
        for (const [kg, data] of Object.entries(await keyedOf(j, s))) {
          const mine = deltas[Number(kg)]!;
          if (mine.length === 0) {
            expect(data).toBe(first.id);
            pieces.add(first.id);
            continue;
          }
          const own = mine.at(-1) === c.id;
          expect(isChainData(data) && [data[1], data[2] !== null]).toEqual([
            [first.id, ...(own ? mine.slice(0, -1) : mine)],
            own,
          ]);
          pieces.add(first.id);
          for (const id of own ? mine.slice(0, -1) : mine) pieces.add(id);
        }
        expect(s.pieces).toEqual([...pieces].sort((a, b) => a - b));
      }
      const metadata = await j.storage.readMetadata('job', c.id);
      // What the metadata says it wrote (the sources' snapshots too) is as small; what it holds is all of it.
      expect(metadata.checkpointedBytes).toBeLessThan(fullBytes * 0.15);
      expect(metadata.fullBytes).toBeGreaterThan(fullBytes);
    }
    const latest = j.coordinator.latestCompleted!.checkpointId;
    await expectRestores(j.storage, latest, expected);
    j.dispose();
  });

  it('removed keys stay removed after a restore, also when a key group becomes empty', async () => {
    const j = job();
    const expected: number[] = [];
    for (let k = 0; k < KEYS; k++) {
      put(j.backends, k, k + 1);
      expected.push(k + 1);
    }
    await j.checkpoint();
    // Every key of one key group goes, and some keys elsewhere; one removed key comes back later.
    const emptied = keyGroupOf(5, MAX);
    for (let k = 0; k < KEYS; k++) {
      if (keyGroupOf(k, MAX) === emptied || k % 97 === 0) {
        remove(j.backends, k);
        // The default value: the key holds no state.
        expected[k] = 0;
      }
    }
    const second = await j.checkpoint();
    const kinds = [
      ...Object.values(await keyedOf(j, second.sum[0]!)),
      ...Object.values(await keyedOf(j, second.sum[1]!)),
    ];
    expect(kinds.some((d) => isChainData(d) && d[2] !== null)).toBe(true);
    put(j.backends, 97, 4242);
    expected[97] = 4242;
    await j.checkpoint();
    await expectRestores(j.storage, j.coordinator.latestCompleted!.checkpointId, expected);
    j.dispose();
  });

  it('rewrites a chain whole once it holds 8 deltas, and retention then deletes the files it no longer uses', async () => {
    const j = job({ retain: 2 });
    for (let k = 0; k < KEYS; k++) put(j.backends, k, 0);
    const expected = new Array<number>(KEYS).fill(0);
    const kg = keyGroupOf(1, MAX);
    const owner = kg < MAX / 2 ? 0 : 1;
    const first = await j.checkpoint();
    const wanted = () => retainedFiles(j.coordinator);
    const chainLengths: number[] = [];
    const ids: number[] = [];
    for (let round = 1; round <= 10; round++) {
      // One key of that key group changes per interval: a delta each time, until the chain is full.
      put(j.backends, 1, round);
      expected[1] = round;
      const c = await j.checkpoint();
      ids.push(c.id);
      const data = (await keyedOf(j, c.sum[owner]!))[kg];
      chainLengths.push(isChainData(data) ? data[1].length : 0);
      expect(j.files()).toEqual(wanted());
    }
    // Deltas on top of the first checkpoint's buffer (chains of 1..8 links), then the 9th change rewrites it whole.
    expect(chainLengths).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 1]);
    const rewrite = ids[8]!;
    // The last checkpoint's key group is the rewrite's buffer and one delta: nothing older of it is needed.
    const last = j.coordinator.latestCompleted!;
    const lastOwner = last.subtasks.find((s) => s.vertexId === SUM.id && s.subtask === owner)!;
    expect(lastOwner.pieces!.map((p) => p.checkpointId)).toEqual([first.id, rewrite]);
    // The other subtask changed nothing and still refers to the first checkpoint only.
    const other = last.subtasks.find((s) => s.vertexId === SUM.id && s.subtask === 1 - owner)!;
    expect(other.pieces!.map((p) => p.checkpointId)).toEqual([first.id]);
    // Retention 2 deleted the deltas of the old chain (and every older checkpoint's other files).
    for (const id of ids.slice(0, 8)) expect(j.files().some((f) => f.startsWith(`chk-${id}/`))).toBe(false);
    const restored = await restoreAt(j.storage, last.checkpointId, 3);
    expect(counts(restored)).toEqual(expected);
    for (const b of restored) b.dispose();
    j.dispose();
  });

  it('a checkpoint aborted in the middle of a chain loses none of its changes', async () => {
    const j = job();
    for (let k = 0; k < KEYS; k++) put(j.backends, k, 1);
    const expected = new Array<number>(KEYS).fill(1);
    await j.checkpoint();
    put(j.backends, 10, 10);
    expected[10] = 10;
    await j.checkpoint();
    // Key 11 changes; the checkpoint that takes its delta is aborted.
    put(j.backends, 11, 11);
    expected[11] = 11;
    const owner = keyGroupOf(11, MAX) < MAX / 2 ? 0 : 1;
    const id = j.coordinator.triggerCheckpoint()!;
    const aborted = await j.ack(id, SUM.id, owner);
    expect(aborted.written).toBe(1);
    j.coordinator.decline(id, SRC.id, 0, 0, 'the test declines it');
    await Promise.all(j.io.splice(0));
    put(j.backends, 12, 12);
    expected[12] = 12;
    await j.checkpoint();
    put(j.backends, 13, 13);
    expected[13] = 13;
    const last = await j.checkpoint();
    // After the abort the owner wrote whole once, then deltas on top of that again.
    expect(last.sum[owner]!.pieces).toHaveLength(1);
    await expectRestores(j.storage, last.id, expected);
    j.dispose();
  });

  it('a malformed delta fails the restore with an error naming the checkpoint, vertex, subtask and key group', async () => {
    const j = job();
    for (let k = 0; k < KEYS; k++) put(j.backends, k, 1);
    await j.checkpoint();
    put(j.backends, 7, 7);
    const second = await j.checkpoint();
    const owner = keyGroupOf(7, MAX) < MAX / 2 ? 0 : 1;
    const kg = keyGroupOf(7, MAX);
    await j.checkpoint();
    const latest = j.coordinator.latestCompleted!.checkpointId;
    // The second checkpoint's delta of key 7's group is damaged on disk (as by a corrupt file).
    const file = join(j.storage.jobDir('job'), second.sum[owner]!.handle);
    const snapshots = decodeSubtaskSnapshot(readFileSync(file));
    const keyed = snapshots.get(NODE)!.keyed!;
    const data = keyed[kg];
    expect(isChainData(data) && data[2] !== null).toBe(true);
    if (isChainData(data)) data[2] = Uint8Array.of(0x93, 0x01, 0x02, 0x03);
    writeFileSync(file, encodeSubtaskSnapshot(snapshots));
    await expect(restoreAt(j.storage, latest, 2)).rejects.toThrow(
      new RegExp(
        `malformed delta of key group ${kg} of operator ${NODE} in the piece of checkpoint ${second.id} ` +
          `that checkpoint ${latest}, vertex ${SUM.id} subtask ${owner} refers to`,
      ),
    );
    j.dispose();
  });
});
