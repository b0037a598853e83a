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
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { StateBackendKind } from '@freshet/graph';
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

/** Measures the heap bytes per key of a keyed rolling reduce over `keys` keys on `backend`. */
export function measureStateMemory(backend: StateBackendKind, keys: number): StateMemoryBenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-state-'));
  try {
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const h = OperatorHarness.of(
      testNode({
        kind: 'reduce',
        keyed: true,
        fns: {
          key: (r: { k: number }) => r.k,
          reduce: (a: { k: number; v: number }, b: { k: number; v: number }) => ({ k: a.k, v: a.v + b.v }),
        },
      }),
      { job: { stateBackend: backend }, localStateDir: dir },
    ).open();
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
  'Each query at parallelism 1 on the disk state backend (LMDB per keyed operator, write cache of 4096 entries per state; window contents, user state and rolling aggregates on disk, timers on the heap), next to the same query on the heap backend in the same run (the local row at p=1 above); events per CPU-second as above. Memory per key: a keyed rolling reduce with one `{ k, v }` accumulator per key, driven through the operator harness in the bench thread, heap used after a full GC minus before, over the keys (the disk store’s pages are outside the heap).';
