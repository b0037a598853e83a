/**
 * Rolling keyed aggregations: `keyBy().reduce()` and `keyBy().aggregate()`
 * (and `sum`/`min`/`max`/`minBy`/`maxBy`/`count`, which the API builds on
 * them). The per-key value lives in a plain Map registered with the keyed
 * backend, so the hot path is one key selector call, one Map get and one
 * Map set.
 *
 * STREAMING emits the updated result for every record. BATCH emits only the
 * final result per key, as Flink's `BatchGroupedReduceOperator` does: when
 * the watermark reaches +Infinity (the end of the bounded input), before the
 * watermark goes downstream, so an event-time window after the aggregation
 * still sees the results on time. Flink stamps those records with
 * `Long.MAX_VALUE`; here a result carries the largest timestamp of its key's
 * records, which places it in a downstream event-time window where a user
 * expects it (a timestamp of +Infinity belongs to no window).
 */
import type { AggregateFunction, Key } from '@freshet/api';
import { MAX_WATERMARK, NO_TIMESTAMP } from '../operator.js';
import type { KeyedStatePart } from '../state/backend.js';
import { PLAIN_CODEC, type StateMap } from '../state/disk-store.js';
import { CopyOnWrite, type SnapshotGuard } from '../state/snapshot-guard.js';
import { AbstractOperator, type KeyFn } from './base.js';
import { requireObject } from './functions.js';

/** A keyed value table that takes part in snapshots. */
class ValueTable implements KeyedStatePart {
  /** Key -> stored value; on the disk backend a map on disk (set in setup). */
  map: StateMap<unknown> = new Map<Key, unknown>();
  /** Copies a stored value before the user function may change it, while a snapshot holding it is packed. */
  readonly cow = new CopyOnWrite();
  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [k, v] of this.map) emit(k, v);
  }
  guardSnapshot(guard: SnapshotGuard): boolean {
    this.cow.watch(guard);
    return true;
  }
  restoreKey(key: Key, data: unknown): void {
    this.map.set(key, data);
  }
}

/** Per key, the largest record timestamp seen (BATCH only). */
class TimestampTable implements KeyedStatePart {
  readonly map = new Map<Key, number>();
  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    // JSON-like codecs write -Infinity as null; NO_TIMESTAMP keys are simply absent.
    for (const [k, t] of this.map) if (t !== NO_TIMESTAMP) emit(k, t);
  }
  restoreKey(key: Key, data: unknown): void {
    this.map.set(key, typeof data === 'number' ? data : NO_TIMESTAMP);
  }
  /** Numbers only. */
  guardSnapshot(): boolean {
    return true;
  }
}

/**
 * Shared part of the rolling aggregations: the key, the value table, and
 * BATCH's emit-once-at-the-end. Subclasses fold one record into the table
 * and say what the result of a stored value is.
 */
abstract class RollingKeyedOperator extends AbstractOperator {
  protected key!: KeyFn;
  protected readonly table = new ValueTable();
  /** BATCH: results are emitted once, at the end of input. */
  private batch = false;
  private readonly timestamps = new TimestampTable();

  /** State part name (kept stable: it names the state in checkpoints). */
  protected abstract readonly partName: string;
  /** Resolves the user function (called in setup). */
  protected abstract resolve(): void;
  /** Folds `value` into the key's stored value and returns the new stored value. */
  protected abstract fold(stored: unknown, value: unknown): unknown;
  /** The result emitted for a stored value. */
  protected abstract result(stored: unknown): unknown;

  protected setup(): void {
    this.key = this.keySelector(0);
    this.resolve();
    const backend = this.requireBackend(this.partName);
    this.table.map = backend.stateMap(this.partName, PLAIN_CODEC);
    backend.registerPart(this.partName, this.table);
    this.batch = this.ctx.job.runtimeMode === 'BATCH';
    if (this.batch) backend.registerPart(`${this.partName}-ts`, this.timestamps);
  }

  processElement(value: unknown, timestamp: number): void {
    this.processKeyed(this.groupKey(value), value, timestamp);
  }

  /** BATCH (no checkpoints but the final one, packed at once) reads and empties the table unguarded. */
  override guardSnapshot(guard: SnapshotGuard): boolean {
    return !this.batch && super.guardSnapshot(guard);
  }

  /** A rolling aggregation needs nothing but the current key's value: it can always read grouped input. */
  canGroupInput(): boolean {
    return true;
  }

  /** The record's key (for a grouped BATCH input; see `key-grouped-input.ts`). */
  groupKey(value: unknown): Key {
    try {
      return this.key(value);
    } catch (error) {
      this.fail(error, this.partName);
    }
  }

  /** Folds a record whose key is known. */
  processKeyed(key: Key, value: unknown, timestamp: number): void {
    let result: unknown;
    try {
      this.backend!.currentKey = key;
      const table = this.table;
      const map = table.map;
      let before = map.get(key);
      // A snapshot being packed may hold `before`: the user function gets a copy to change.
      if (table.cow.watching) before = table.cow.own(map, key, before);
      const stored = this.fold(before, value);
      map.set(key, stored);
      if (this.batch) {
        const ts = this.timestamps.map;
        const seen = ts.get(key);
        if (seen === undefined || timestamp > seen) ts.set(key, timestamp);
        return;
      }
      result = this.result(stored);
    } catch (error) {
      this.fail(error, this.partName);
    }
    this.output.collect(result, timestamp);
  }

  override processWatermark(watermark: number): void {
    if (this.batch && watermark === MAX_WATERMARK) this.emitFinal();
    super.processWatermark(watermark);
  }

  override endInput(): void {
    // The +Infinity watermark normally came first; this covers a host that ends input without it.
    if (this.batch) this.emitFinal();
  }

  /**
   * BATCH with input grouped by key: every record of `key` was folded, so
   * its final result goes out now and the key's value is dropped (the next
   * key starts from an empty table).
   */
  finishKey(key: Key): void {
    const map = this.table.map;
    if (!map.has(key)) return;
    const stored = map.get(key);
    const ts = this.timestamps.map;
    const timestamp = ts.get(key) ?? NO_TIMESTAMP;
    map.delete(key);
    ts.delete(key);
    this.backend!.currentKey = key;
    let result: unknown;
    try {
      result = this.result(stored);
    } catch (error) {
      this.fail(error, this.partName);
    }
    this.output.collect(result, timestamp);
  }

  /** Keys holding a value (the hash path of a grouped BATCH input weighs its new keys). */
  keysHeld(): number {
    return this.table.map.size;
  }

  /**
   * Grouped BATCH input past its budget: every key's value and largest
   * timestamp, `[stored, timestamp | null]`, go to `emit` (to be written as
   * the state run) and the table is emptied.
   */
  takeKeyStates(emit: (key: Key, state: unknown) => void): void {
    const map = this.table.map;
    const ts = this.timestamps.map;
    for (const [key, stored] of map) {
      const t = ts.get(key);
      emit(key, [stored, t === undefined || t === NO_TIMESTAMP ? null : t]);
    }
    map.clear();
    ts.clear();
  }

  /** Gives `key` back what {@link takeKeyStates} took; the key's later records fold onto it. */
  restoreKeyState(key: Key, state: unknown): void {
    const [stored, t] = state as [unknown, number | null];
    this.table.map.set(key, stored);
    if (t !== null) this.timestamps.map.set(key, t);
  }

  /** Emits every key's final result once and forgets them (nothing is left to emit after a restore). */
  private emitFinal(): void {
    const map = this.table.map;
    if (map.size === 0) return;
    const ts = this.timestamps.map;
    const out = this.output;
    const backend = this.backend!;
    for (const [key, stored] of map) {
      backend.currentKey = key;
      let result: unknown;
      try {
        result = this.result(stored);
      } catch (error) {
        this.fail(error, this.partName);
      }
      out.collect(result, ts.get(key) ?? NO_TIMESTAMP);
    }
    map.clear();
    ts.clear();
  }
}

/** Rolling keyed reduce. */
export class KeyedReduceOperator extends RollingKeyedOperator {
  protected readonly partName = 'reduce';
  private reduce!: (a: unknown, b: unknown) => unknown;

  protected resolve(): void {
    this.reduce = this.userFunction(this.node.fns.reduce ?? this.node.fns.fn, 'reduce');
  }

  protected fold(stored: unknown, value: unknown): unknown {
    return stored === undefined ? value : this.reduce(stored, value);
  }

  protected result(stored: unknown): unknown {
    return stored;
  }
}

/** Rolling keyed aggregate with an {@link AggregateFunction}. */
export class KeyedAggregateOperator extends RollingKeyedOperator {
  protected readonly partName = 'aggregate';
  private agg!: AggregateFunction<unknown, unknown, unknown>;

  protected resolve(): void {
    this.agg = requireObject(
      this.node.fns.aggregate ?? this.node.fns.fn,
      ['createAccumulator', 'add', 'getResult'],
      this.name,
    );
    this.addRichFunction(this.agg);
  }

  protected fold(stored: unknown, value: unknown): unknown {
    return this.agg.add(value, stored === undefined ? this.agg.createAccumulator() : stored);
  }

  protected result(stored: unknown): unknown {
    return this.agg.getResult(stored);
  }
}
