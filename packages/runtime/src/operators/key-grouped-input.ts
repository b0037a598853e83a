/**
 * BATCH input grouped by key (Flink's sort-based batch input, on the
 * consumer side): the task that runs a keyed one-input operator buffers the
 * operator's input, and at the end of input feeds it key by key, telling the
 * operator after each key that the key is done — the operator emits the
 * key's final result and drops its state. Per-key state then exists for one
 * key at a time instead of for every key of the input.
 *
 * A pre-aggregating operator (the rolling aggregations: one accumulator per
 * key, see {@link PreAggregatingOperator}) is hybrid: it first takes its
 * input as it comes, into its hash table of accumulators, which is as fast as
 * ungrouped input; only when the table's estimated size passes `memoryBytes`
 * are the accumulators written, sorted by key, as the first run (the state
 * run) and dropped, and the rest of the input is buffered and sorted as
 * below. Within the budget the operator therefore holds one accumulator per
 * key (bounded by the budget), past it one key at a time. A keyed process
 * function, whose state may grow with every record, always buffers.
 *
 * The buffer groups records by key in memory (a Map from key to its records,
 * arrival order kept within a key). Past `memoryBytes` (an estimate of the
 * buffered records' heap size) the groups are written, sorted by key, as one
 * run file under `dir` (the job's work directory on a TaskManager: its
 * `TMPDIR`), and the buffer starts again. At the end of input the runs are
 * merged key by key: a key's accumulator is restored from the state run
 * first, then its records come from run 1, run 2, …, so within a key the
 * arrival order is kept as without grouping, and the results are those of
 * ungrouped input. Accumulators go to disk with the binary codec checkpoints
 * use, so what a checkpoint can hold, a state run can.
 *
 * Watermarks below +Infinity are held back (they would otherwise pass the
 * buffered records and make them late downstream); +Infinity goes on after
 * the last key. The task wraps an operator only when the job takes no
 * checkpoint while input is buffered (see `deploySlot`), and a snapshot of a
 * non-empty buffer is refused rather than losing records.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Key } from '@freshet/api';
import { decodeValue, encodeValue } from '../codec/binary.js';
import {
  MAX_WATERMARK,
  type OperatorContext,
  type OperatorSnapshot,
  type StreamOperator,
} from '../operator.js';
import { OperatorUsageError } from './errors.js';

/** An operator that can take its input one key at a time (see {@link KeyGroupedInputOperator}). */
export interface KeyGroupedOperator extends StreamOperator {
  /** Operator name (for errors). */
  readonly name: string;
  /** Whether this instance's function allows it (decided from the node, before open). */
  canGroupInput(): boolean;
  /** The key of a record (user errors surface as from the operator itself). */
  groupKey(value: unknown): Key;
  /** Processes a record whose key {@link groupKey} gave. */
  processKeyed(key: Key, value: unknown, timestamp: number): void;
  /** Every record of `key` was processed: emit its final result and drop its state. */
  finishKey(key: Key): void;
}

/**
 * A {@link KeyGroupedOperator} whose state is one accumulator per key (the
 * rolling aggregations): it reads its input as it comes until its
 * accumulators pass the budget (see the module comment).
 */
export interface PreAggregatingOperator extends KeyGroupedOperator {
  /** Keys that hold an accumulator now. */
  keysHeld(): number;
  /** Hands every key's accumulator to `emit` (as data the binary codec can write) and drops them all. */
  takeKeyStates(emit: (key: Key, state: unknown) => void): void;
  /** Gives `key` back the accumulator {@link takeKeyStates} took. */
  restoreKeyState(key: Key, state: unknown): void;
}

/** Whether a key-grouped operator pre-aggregates (see {@link PreAggregatingOperator}). */
export function isPreAggregating(op: KeyGroupedOperator): op is PreAggregatingOperator {
  const o = op as Partial<PreAggregatingOperator>;
  return (
    typeof o.keysHeld === 'function' &&
    typeof o.takeKeyStates === 'function' &&
    typeof o.restoreKeyState === 'function'
  );
}

/** Whether `op` can take its input grouped by key (and its function allows it). */
export function isKeyGroupedOperator(op: StreamOperator): op is KeyGroupedOperator {
  const o = op as Partial<KeyGroupedOperator>;
  return (
    typeof o.canGroupInput === 'function' &&
    typeof o.groupKey === 'function' &&
    typeof o.processKeyed === 'function' &&
    typeof o.finishKey === 'function' &&
    o.canGroupInput()
  );
}

/** Options of a {@link KeyGroupedInputOperator}. */
export interface KeyGroupedInputOptions {
  /**
   * Estimated heap bytes of buffered records (or of a pre-aggregating
   * operator's accumulators) before a sorted run is spilled. @default 64 MiB
   */
  memoryBytes?: number;
  /**
   * Directory the spill files go to (in a directory of their own).
   * @default os.tmpdir() (a TaskManager's tasks get `groupedInputDir`: their job's directory under `<data-dir>/work/spill`)
   */
  dir?: string;
}

/** Default buffer budget of a grouped input. */
export const DEFAULT_KEY_GROUPED_MEMORY_BYTES = 64 * 1024 * 1024;

/** Longest stretch of the end-of-input drain before the task's thread gets a turn, in ms. */
const DRAIN_SLICE_MS = 20;
/** Records per run file frame. */
const FRAME_RECORDS = 4096;
/** Bytes written or read per system call. */
const IO_BLOCK = 1 << 20;
/** Estimated heap bytes per buffered record beyond its value: its slots in the buffer's arrays. */
const RECORD_OVERHEAD = 40;
/** Estimated heap bytes per buffered key beyond the key itself: its Map entry and group slots. */
const KEY_OVERHEAD = 80;

/** Total order on keys: numbers (NaN first) before strings. */
export function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'number') {
    if (typeof b !== 'number') return -1;
    if (a !== a) return b !== b ? 0 : -1;
    if (b !== b) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Distinct keys in key order ({@link compareKeys}); strings only (the usual case) sort natively, in the same order. */
function sortKeys(keys: readonly Key[]): Key[] {
  for (let i = 0; i < keys.length; i++) {
    if (typeof keys[i] !== 'string') return keys.slice().sort(compareKeys);
  }
  // The default sort compares strings by UTF-16 code units, as `<` does.
  return keys.slice().sort();
}

/** Runs a drain to its end. */
function exhaust(steps: Generator<void, void, undefined>): void {
  let step = steps.next();
  while (step.done !== true) step = steps.next();
}

/** A rough, cheap estimate of a value's heap size (enough to bound the buffer, not exact). */
function approxBytes(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2;
    case 'number':
      return 8;
    case 'boolean':
    case 'undefined':
      return 4;
    case 'bigint':
      return 16;
    case 'object': {
      if (value === null) return 4;
      if (depth > 4) return 64;
      if (ArrayBuffer.isView(value)) return 32 + value.byteLength;
      let n = 24;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) n += 8 + approxBytes(value[i], depth + 1);
        return n;
      }
      for (const k in value) n += 16 + approxBytes((value as Record<string, unknown>)[k], depth + 1);
      return n;
    }
    default:
      return 16;
  }
}

/**
 * Buffered records grouped by key without an object per key: records sit in
 * flat arrays in arrival order, each key's records are chained through
 * `next` (head and tail per group), and a Map gives a key's group.
 */
class GroupBuffer {
  readonly groupOf = new Map<Key, number>();
  readonly keys: Key[] = [];
  readonly heads: number[] = [];
  readonly tails: number[] = [];
  readonly values: unknown[] = [];
  readonly timestamps: number[] = [];
  readonly next: number[] = [];
  /** Estimated heap bytes held. */
  bytes = 0;
  /** The estimate of a record's size, sampled every 8th record (records of one stream are alike). */
  private recordBytes = 0;

  get size(): number {
    return this.values.length;
  }

  add(key: Key, value: unknown, timestamp: number): void {
    const i = this.values.length;
    this.values.push(value);
    this.timestamps.push(timestamp);
    this.next.push(-1);
    const g = this.groupOf.get(key);
    if (g === undefined) {
      this.groupOf.set(key, this.keys.length);
      this.keys.push(key);
      this.heads.push(i);
      this.tails.push(i);
      this.bytes += KEY_OVERHEAD + approxBytes(key, 0);
    } else {
      this.next[this.tails[g]!] = i;
      this.tails[g] = i;
    }
    if ((i & 7) === 0) this.recordBytes = RECORD_OVERHEAD + approxBytes(value, 0);
    this.bytes += this.recordBytes;
  }

  /** Group ids in key order. */
  sortedGroups(): number[] {
    const sorted = sortKeys(this.keys);
    const groupOf = this.groupOf;
    const order = new Array<number>(sorted.length);
    for (let j = 0; j < sorted.length; j++) order[j] = groupOf.get(sorted[j]!)!;
    return order;
  }
}

/**
 * Buffered writer of a run: length-prefixed frames of up to
 * {@link FRAME_RECORDS} records, each `[keys, counts, values, timestamps]`
 * where `counts[j]` consecutive records belong to `keys[j]`.
 */
class RunWriter {
  private readonly fd: number;
  private block = new Uint8Array(IO_BLOCK);
  private used = 0;
  private keys: Key[] = [];
  private counts: number[] = [];
  private values: unknown[] = [];
  private timestamps: number[] = [];
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  /** Appends one record; records of one key come one after another. */
  add(key: Key, value: unknown, timestamp: number): void {
    const j = this.keys.length - 1;
    if (j >= 0 && this.keys[j] === key) this.counts[j]!++;
    else {
      this.keys.push(key);
      this.counts.push(1);
    }
    this.values.push(value);
    this.timestamps.push(timestamp);
    if (this.values.length >= FRAME_RECORDS) this.frame();
  }
  private frame(): void {
    if (this.values.length === 0) return;
    const body = encodeValue([this.keys, this.counts, this.values, this.timestamps]);
    this.keys = [];
    this.counts = [];
    this.values = [];
    this.timestamps = [];
    const need = 4 + body.length;
    if (this.used + need > this.block.length) this.flush();
    if (need > this.block.length) this.block = new Uint8Array(need);
    new DataView(this.block.buffer).setUint32(this.used, body.length, true);
    this.block.set(body, this.used + 4);
    this.used += need;
  }
  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.block, off, this.used - off);
    this.used = 0;
  }
  close(): void {
    this.frame();
    this.flush();
    closeSync(this.fd);
  }
}

/** Sequential reader of a run, one key segment (a key's consecutive records in a frame) at a time. */
class RunReader {
  private readonly fd: number;
  private block = new Uint8Array(IO_BLOCK);
  private start = 0;
  private end = 0;
  private eof = false;
  private keys: Key[] = [];
  private counts: number[] = [];
  private values: unknown[] = [];
  private timestamps: number[] = [];
  private segment = 0;
  private pos = 0;
  /** The key of the current segment (undefined once the run is exhausted). */
  key: Key | undefined;
  constructor(path: string) {
    this.fd = openSync(path, 'r');
    this.readFrame();
  }
  /** Fills the block so at least `n` bytes are available from `start`; false at end of file. */
  private ensure(n: number): boolean {
    while (this.end - this.start < n) {
      if (this.eof) return false;
      if (this.start > 0) {
        this.block.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      if (n > this.block.length) {
        const bigger = new Uint8Array(n);
        bigger.set(this.block.subarray(0, this.end));
        this.block = bigger;
      }
      const read = readSync(this.fd, this.block, this.end, this.block.length - this.end, null);
      if (read === 0) this.eof = true;
      this.end += read;
    }
    return true;
  }
  private readFrame(): void {
    if (!this.ensure(4)) {
      this.key = undefined;
      return;
    }
    const length = new DataView(this.block.buffer).getUint32(this.start, true);
    if (!this.ensure(4 + length)) throw new Error('a spilled run of the grouped input is truncated');
    const frame = decodeValue(this.block.subarray(this.start + 4, this.start + 4 + length)) as [
      Key[],
      number[],
      unknown[],
      number[],
    ];
    this.start += 4 + length;
    [this.keys, this.counts, this.values, this.timestamps] = frame;
    this.segment = 0;
    this.pos = 0;
    this.key = this.keys[0];
  }
  /** Feeds the current segment's records to `op` and moves to the next segment. */
  feed(op: KeyGroupedOperator): void {
    const key = this.key!;
    const { values, timestamps } = this;
    const end = this.pos + this.counts[this.segment]!;
    for (let i = this.pos; i < end; i++) op.processKeyed(key, values[i], timestamps[i]!);
    this.advance(end);
  }
  /** A state run: gives the current key its accumulator back and moves to the next key. */
  restore(op: PreAggregatingOperator): void {
    const end = this.pos + this.counts[this.segment]!;
    op.restoreKeyState(this.key!, this.values[this.pos]);
    this.advance(end);
  }
  private advance(end: number): void {
    this.pos = end;
    if (++this.segment < this.keys.length) this.key = this.keys[this.segment];
    else this.readFrame();
  }
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Wraps a {@link KeyGroupedOperator} so it reads its input grouped by key
 * (see the module comment). Everything but the input path is the wrapped
 * operator's.
 */
export class KeyGroupedInputOperator implements StreamOperator {
  private buffer = new GroupBuffer();
  private readonly memoryBytes: number;
  private readonly dirBase: string;
  private spillDir: string | undefined;
  private readonly runs: string[] = [];
  /** The wrapped operator when it pre-aggregates and its accumulators still fit the budget (the hash path). */
  private hashing: PreAggregatingOperator | undefined;
  /** Estimated heap bytes of the accumulators on the hash path. */
  private hashBytes = 0;
  /** Keys with an accumulator when last looked (a new key adds to {@link hashBytes}). */
  private hashKeys = 0;
  /** Runs[0] holds the accumulators the hash path had when it passed the budget. */
  private stateRun = false;
  /** A key that is neither a string nor a number was seen: the input goes through ungrouped from then on. */
  private ungrouped = false;
  private drained = false;
  /** The +Infinity watermark arrived (it goes on after the last key). */
  private sawEnd = false;
  /** The drain in progress (finishPending). */
  private pending: Generator<void, void, undefined> | undefined;
  private ctx!: OperatorContext;
  /** Runs spilled so far (for metrics and tests). */
  spilledRuns = 0;

  constructor(
    readonly inner: KeyGroupedOperator,
    options: KeyGroupedInputOptions = {},
  ) {
    this.memoryBytes = options.memoryBytes ?? DEFAULT_KEY_GROUPED_MEMORY_BYTES;
    this.dirBase = options.dir ?? tmpdir();
    if (isPreAggregating(inner)) this.hashing = inner;
  }

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    this.inner.open(ctx, restored);
  }

  processElement(value: unknown, timestamp: number): void {
    const inner = this.inner;
    const key = inner.groupKey(value);
    if (this.ungrouped) {
      inner.processKeyed(key, value, timestamp);
      return;
    }
    if (typeof key !== 'string' && typeof key !== 'number') {
      // No order to sort by: hand over what is buffered as it is, and the rest as it comes.
      exhaust(this.drainSteps(false));
      this.ungrouped = true;
      this.hashing = undefined;
      inner.processKeyed(key, value, timestamp);
      return;
    }
    const hashing = this.hashing;
    if (hashing !== undefined) {
      hashing.processKeyed(key, value, timestamp);
      const held = hashing.keysHeld();
      if (held !== this.hashKeys) {
        // A new key: its accumulator is taken to weigh about what its first record does.
        this.hashKeys = held;
        this.hashBytes += KEY_OVERHEAD + approxBytes(key, 0) + approxBytes(value, 0);
        if (this.hashBytes > this.memoryBytes) this.spillAccumulators(hashing);
      }
      return;
    }
    const buffer = this.buffer;
    buffer.add(key, value, timestamp);
    if (buffer.bytes > this.memoryBytes) this.spill();
  }

  processWatermark(watermark: number): void {
    if (this.ungrouped) {
      this.inner.processWatermark(watermark);
      return;
    }
    // Held back: +Infinity goes on in endInput, after the last key.
    if (watermark === MAX_WATERMARK) this.sawEnd = true;
  }

  /**
   * The end of input: the buffered input is fed key by key in slices of
   * about {@link DRAIN_SLICE_MS} on the task's thread (processing-time
   * callbacks), so a long drain neither blocks the thread nor trips the
   * TaskManager's watchdog; `done` lets the task end the chain.
   */
  finishPending(done: () => void): boolean {
    if (this.drained || (this.buffer.size === 0 && this.runs.length === 0)) return false;
    const steps = this.drainSteps(true);
    this.pending = steps;
    const slice = (): void => {
      const deadline = performance.now() + DRAIN_SLICE_MS;
      while (performance.now() < deadline) {
        if (steps.next().done === true) {
          this.pending = undefined;
          done();
          return;
        }
      }
      this.ctx.processingTime.schedule(0, slice);
    };
    this.ctx.processingTime.schedule(0, slice);
    return true;
  }

  endInput(): void {
    // A host that does not call finishPending: everything at once.
    if (!this.drained) exhaust(this.drainSteps(true));
    if (this.sawEnd) this.inner.processWatermark(MAX_WATERMARK);
    this.inner.endInput();
  }

  snapshotState(checkpointId: number, full?: boolean): OperatorSnapshot {
    if (this.buffer.size > 0 || this.runs.length > 0) {
      throw new OperatorUsageError(
        `Operator '${this.inner.name}' reads its BATCH input grouped by key and cannot checkpoint buffered input; ` +
          'grouped input is only used when the job takes no checkpoints before its input ends',
      );
    }
    return this.inner.snapshotState(checkpointId, full);
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.inner.notifyCheckpointComplete?.(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.inner.notifyCheckpointAborted?.(checkpointId);
  }

  close(): void {
    // Closes the run readers of a drain cut short.
    this.pending?.return(undefined);
    this.removeSpillFiles();
    this.inner.close();
  }

  /** The hash path passed the budget: its accumulators, sorted by key, become the state run; records are buffered from now on. */
  private spillAccumulators(op: PreAggregatingOperator): void {
    const states = new Map<Key, unknown>();
    op.takeKeyStates((key, state) => {
      states.set(key, state);
    });
    const writer = new RunWriter(this.nextRunPath());
    try {
      for (const key of sortKeys([...states.keys()])) writer.add(key, states.get(key), 0);
    } finally {
      writer.close();
    }
    this.stateRun = true;
    this.hashing = undefined;
    this.spilledRuns++;
  }

  /** The path of the next run file (registered as a run). */
  private nextRunPath(): string {
    this.spillDir ??= mkdtempSync(join(this.dirBase, 'freshet-grouped-input-'));
    const path = join(this.spillDir, `run-${this.runs.length}.bin`);
    this.runs.push(path);
    return path;
  }

  /** Writes the buffered records, sorted by key, as one run. */
  private spill(): void {
    const writer = new RunWriter(this.nextRunPath());
    const { keys, heads, next, values, timestamps } = this.buffer;
    try {
      for (const g of this.buffer.sortedGroups()) {
        const key = keys[g]!;
        for (let i = heads[g]!; i !== -1; i = next[i]!) writer.add(key, values[i], timestamps[i]!);
      }
    } finally {
      writer.close();
    }
    this.spilledRuns++;
    this.buffer = new GroupBuffer();
  }

  /** Feeds everything buffered to the operator, key by key (`finish` ends each key), yielding after each key. */
  private *drainSteps(finish: boolean): Generator<void, void, undefined> {
    if (finish) this.drained = true;
    if (this.runs.length > 0) {
      if (this.buffer.size > 0) this.spill();
      yield* this.mergeRuns(finish);
      return;
    }
    const inner = this.inner;
    const buffer = this.buffer;
    this.buffer = new GroupBuffer();
    const { keys, heads, next, values, timestamps } = buffer;
    for (const g of buffer.sortedGroups()) {
      const key = keys[g]!;
      for (let i = heads[g]!; i !== -1; i = next[i]!) {
        inner.processKeyed(key, values[i], timestamps[i]!);
        // Let the record go as soon as it was processed.
        values[i] = undefined;
      }
      if (finish) inner.finishKey(key);
      yield;
    }
  }

  /** Merges the spilled runs key by key (the state run's accumulator first, then run order within a key). */
  private *mergeRuns(finish: boolean): Generator<void, void, undefined> {
    const inner = this.inner;
    const readers = this.runs.map((path) => new RunReader(path));
    const states = this.stateRun ? readers[0] : undefined;
    try {
      for (;;) {
        let min: Key | undefined;
        for (const r of readers) {
          if (r.key !== undefined && (min === undefined || compareKeys(r.key, min) < 0)) min = r.key;
        }
        if (min === undefined) break;
        if (states !== undefined && states.key !== undefined && compareKeys(states.key, min) === 0) {
          states.restore(inner as PreAggregatingOperator);
        }
        for (const r of readers) {
          if (r === states) continue;
          while (r.key !== undefined && compareKeys(r.key, min) === 0) r.feed(inner);
        }
        if (finish) inner.finishKey(min);
        yield;
      }
    } finally {
      for (const r of readers) r.close();
    }
    this.removeSpillFiles();
  }

  private removeSpillFiles(): void {
    this.runs.length = 0;
    this.stateRun = false;
    if (this.spillDir === undefined) return;
    rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = undefined;
  }
}
