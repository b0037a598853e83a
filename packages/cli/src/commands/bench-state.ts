/**
 * The state backend rows of `freshet bench`: q5 and q8 (whose state lives in
 * window operators) on the disk state backend, next to the same query on the
 * heap backend in the same run, and the heap bytes a key of keyed state
 * costs on each backend.
 *
 * Memory per key: a keyed rolling reduce (one `{ k, v }` accumulator per
 * key) driven through the operator harness in the bench's own thread,
 * `keys` distinct keys; heap used after a full garbage collection, minus
 * the same before, over `keys`. On the disk backend that is the write cache
 * and LMDB's JavaScript side; the store's pages are outside the heap.
 *
 * Checkpoint bytes: the same keyed rolling reduce over `keys` keys, then
 * checkpoint intervals in each of which a fraction of the keys change;
 * every snapshot encoded as a task encodes it for its host, completed (so
 * the disk backend's next snapshot is incremental). Full = the first
 * checkpoint (all key groups) on either backend; per interval = median
 * bytes of the later ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { StateBackendKind } from '@freshet/graph';
import { encodeSubtaskSnapshot, type OperatorSnapshot } from '@freshet/runtime';
import { OperatorHarness, testNode } from '@freshet/runtime/testing';
import type { RunMeasures } from './bench.js';
import { round } from './bench-cluster.js';

/** The queries also run on the disk state backend by default. */
export const DEFAULT_STATE_BACKEND_QUERIES = ['q5', 'q8'];

/** Parallelism of the state backend rows. */
export const STATE_BACKEND_PARALLELISM = 1;

/** Keys of the memory-per-key measurement. */
export const MEMORY_PER_KEY_KEYS = 500_000;

/** A query on the disk state backend next to the heap backend. */
export interface StateBackendBenchResult extends RunMeasures {
  mode: 'state-backend';
  query: string;
  backend: StateBackendKind;
  /** The same query and parallelism on the heap backend, in the same bench run. */
  heapEventsPerCpuSecond: number;
  /** eventsPerCpuSecond / heapEventsPerCpuSecond. */
  ratioToHeap: number;
}

/** Heap bytes per key of keyed state on one backend. */
export interface StateMemoryBenchResult {
  mode: 'state-memory';
  query: 'memory per key';
  backend: StateBackendKind;
  /** One operator instance, in the bench's thread. */
  parallelism: 1;
  keys: number;
  heapBytesPerKey: number;
}

let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (gc === undefined) {
    // The bench runs without --expose-gc; the flag can still be set and `gc` taken from a fresh context.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

/** A keyed rolling reduce (`{ k, v }` per key) on `backend`, its store under `dir`. */
function rollingReduce(backend: StateBackendKind, dir: string, maxParallelism = 128): OperatorHarness {
  return OperatorHarness.of(
    testNode({
      kind: 'reduce',
      keyed: true,
      fns: {
        key: (r: { k: number }) => r.k,
        reduce: (a: { k: number; v: number }, b: { k: number; v: number }) => ({ k: a.k, v: a.v + b.v }),
      },
    }),
    { job: { stateBackend: backend }, localStateDir: dir, maxParallelism },
  ).open();
}

/** Measures the heap bytes per key of a keyed rolling reduce over `keys` keys on `backend`. */
export function measureStateMemory(backend: StateBackendKind, keys: number): StateMemoryBenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-state-'));
  try {
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const h = rollingReduce(backend, dir);
    for (let k = 0; k < keys; k++) {
      h.processElement({ k, v: k }, k);
      // The harness keeps what the operator emits: drop it as we go, so only the state stays.
      if (k % 4096 === 4095) h.clearOutput();
    }
    h.clearOutput();
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    h.close();
    return {
      mode: 'state-memory',
      query: 'memory per key',
      backend,
      parallelism: 1,
      keys,
      heapBytesPerKey: round(Math.max(0, after - before) / keys, 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keys of the checkpoint bytes measurement. */
export const CHECKPOINT_BYTES_KEYS = 200_000;
/** Fractions of the keys changed per checkpoint interval in the checkpoint bytes measurement. */
export const CHECKPOINT_BYTES_CHANGED = [0.01, 0.05];
/**
 * Key groups (max parallelism) of the checkpoint bytes rows: the default,
 * and more, for the disk backend (it tracks changes per key group, so
 * changes spread over the keys touch fewer key groups' worth of data when
 * there are more of them).
 */
export const CHECKPOINT_BYTES_KEY_GROUPS = [128, 4096];
/** Checkpoint intervals after the first (full) one. */
const CHECKPOINT_BYTES_INTERVALS = 5;

/** Bytes a checkpoint writes on one backend, full vs one interval in which a fraction of the keys changed. */
export interface CheckpointBytesBenchResult {
  mode: 'checkpoint-bytes';
  query: 'checkpoint bytes';
  backend: StateBackendKind;
  parallelism: 1;
  /** Number of key groups (the max parallelism). */
  keyGroups: number;
  keys: number;
  /** Fraction of the keys changed per checkpoint interval. */
  changed: number;
  /** The first checkpoint: every key group. */
  fullBytes: number;
  /** Median bytes of the checkpoints after an interval (incremental on the disk backend). */
  intervalBytes: number;
  /** intervalBytes / fullBytes. */
  ratio: number;
}

/**
 * Measures the bytes per checkpoint of a keyed rolling reduce over `keys`
 * keys on `backend` when `changed` of them change per interval (keys spread
 * over the key space, a different set each interval, as random keys would).
 */
export function measureCheckpointBytes(
  backend: StateBackendKind,
  keys: number,
  changed: number,
  keyGroups = 128,
): CheckpointBytesBenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-state-'));
  const h = rollingReduce(backend, dir, keyGroups);
  try {
    const head = h.head;
    const checkpoint = (id: number): number => {
      const bytes = encodeSubtaskSnapshot(new Map<number, OperatorSnapshot>([[1, head.snapshotState(id)]]));
      head.notifyCheckpointComplete?.(id);
      return bytes.byteLength;
    };
    for (let k = 0; k < keys; k++) {
      h.processElement({ k, v: k }, k);
      if (k % 4096 === 4095) h.clearOutput();
    }
    h.clearOutput();
    const fullBytes = checkpoint(1);
    const perInterval = Math.max(1, Math.round(keys * changed));
    const sizes: number[] = [];
    for (let i = 0; i < CHECKPOINT_BYTES_INTERVALS; i++) {
      // A multiplicative step over the keys: every interval touches another, evenly spread set.
      for (let j = 0; j < perInterval; j++) h.processElement({ k: (j * 7919 + i * 104_729) % keys, v: 1 }, j);
      h.clearOutput();
      sizes.push(checkpoint(i + 2));
    }
    sizes.sort((a, b) => a - b);
    const intervalBytes = sizes[Math.floor(sizes.length / 2)]!;
    return {
      mode: 'checkpoint-bytes',
      query: 'checkpoint bytes',
      backend,
      parallelism: 1,
      keyGroups,
      keys,
      changed,
      fullBytes,
      intervalBytes,
      ratio: round(intervalBytes / fullBytes, 3),
    };
  } finally {
    h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Column headers of the checkpoint bytes rows. */
export const CHECKPOINT_BYTES_HEADERS = [
  'backend',
  'key groups',
  'keys',
  'changed/interval',
  'full bytes',
  'bytes/interval',
  'ratio',
];

/** The checkpoint bytes rows as table cells. */
export function checkpointBytesRows(results: readonly { mode: string }[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  return results
    .filter((r): r is CheckpointBytesBenchResult => r.mode === 'checkpoint-bytes')
    .map((r) => [
      r.backend,
      n(r.keyGroups),
      n(r.keys),
      `${round(r.changed * 100, 1)} %`,
      n(r.fullBytes),
      n(r.intervalBytes),
      r.ratio.toFixed(3),
    ]);
}

/** Column headers of the state backend rows. */
export const STATE_BACKEND_HEADERS = [
  'query',
  'backend',
  'p',
  'events/s',
  'events/CPU-s',
  'heap events/CPU-s',
  'ratio',
];

/** Column headers of the memory rows. */
export const STATE_MEMORY_HEADERS = ['backend', 'keys', 'heap bytes/key'];

/** The state backend rows as table cells. */
export function stateBackendRows(results: readonly { mode: string }[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  return results
    .filter((r): r is StateBackendBenchResult => r.mode === 'state-backend')
    .map((r) => [
      r.query,
      r.backend,
      String(r.parallelism),
      n(r.eventsPerSecond),
      n(r.eventsPerCpuSecond),
      n(r.heapEventsPerCpuSecond),
      r.ratioToHeap.toFixed(2),
    ]);
}

/** The memory rows as table cells. */
export function stateMemoryRows(results: readonly { mode: string }[]): string[][] {
  return results
    .filter((r): r is StateMemoryBenchResult => r.mode === 'state-memory')
    .map((r) => [r.backend, r.keys.toLocaleString('en-US'), r.heapBytesPerKey.toFixed(1)]);
}

/** What the state backend section of `latest.md` says about its rows. */
export const STATE_BACKEND_NOTE =
  'Each query at parallelism 1 on the disk state backend (LMDB per keyed operator, write cache of 4096 entries per state; window contents, user state and rolling aggregates on disk, timers on the heap), next to the same query on the heap backend in the same run (the local row at p=1 above); events per CPU-second as above. Memory per key: a keyed rolling reduce with one `{ k, v }` accumulator per key, driven through the operator harness in the bench thread, heap used after a full GC minus before, over the keys (the disk store’s pages are outside the heap). Checkpoint bytes: the same reduce over the keys, then five checkpoint intervals in each of which that fraction of the keys (spread over the key space) changes; full = the first checkpoint, per interval = the median encoded snapshot after an interval (the disk backend writes, per changed key group, a delta of the changed keys on top of earlier pieces, or the key group whole when a delta would not be much smaller, and refers to earlier pieces for the rest; at the default 128 key groups and at 4096; the heap backend writes everything).';
