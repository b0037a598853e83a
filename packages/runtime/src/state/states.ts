/**
 * The keyed state interfaces over a {@link StateMap}. Each state keeps one
 * `Map<key, value>` (on the heap backend; on the disk backend a map of the
 * same shape whose entries live on disk); with a TTL the value is wrapped as `{ v, t }` where `t` is
 * the processing time of the last write (or read, with `OnReadAndWrite`).
 */
import type {
  AggregateFunction,
  AggregatingState,
  AggregatingStateDescriptor,
  Key,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  StateTtlConfig,
  ValueState,
  ValueStateDescriptor,
} from '@freshet/api';
import type { KeyedStatePart } from './backend.js';
import type { StateMap, StateValueCodec } from './disk-store.js';
import { CopyOnWrite, type SnapshotGuard } from './snapshot-guard.js';

/**
 * What a heap state needs of its owner: the current key and the clock of
 * its TTL. The keyed backend is one; a window's own state (`windowState()`)
 * is another, with one key per window.
 */
export interface StateScope {
  /** The key state accesses apply to; throws when none is set. */
  getCurrentKey(): Key;
  /** Processing time, for TTL. */
  now(): number;
}

/** A value with the processing time it was last written (or read) at. */
export interface TtlEntry<T> {
  /** The value. */
  v: T;
  /** Last access time (processing time, ms). */
  t: number;
}

/** Resolved TTL settings. */
export class Ttl {
  /** Lifetime in ms. */
  readonly ttlMs: number;
  /** Reads refresh the lifetime. */
  readonly updateOnRead: boolean;
  /** Expired values are still returned until cleaned up. */
  readonly returnExpired: boolean;
  constructor(config: StateTtlConfig) {
    this.ttlMs = config.ttlMs;
    this.updateOnRead = config.updateType === 'OnReadAndWrite';
    this.returnExpired = config.visibility === 'ReturnExpiredIfNotCleanedUp';
  }
  /** Whether an entry last touched at `t` is expired at `now`. */
  expired(t: number, now: number): boolean {
    return now - t >= this.ttlMs;
  }
}

/** Common shape of every heap state. */
export type HeapState = KeyedStatePart & {
  readonly kind: 'value' | 'list' | 'map' | 'reducing' | 'aggregating';
};

/**
 * Base of the single-value states (value, reducing, aggregating, list): one
 * stored item per key, optionally TTL-wrapped.
 */
abstract class SingleValueHeapState<S> implements KeyedStatePart {
  protected readonly ttl: Ttl | undefined;
  /** Copies a stored item before it is handed out, while a snapshot holding it is packed. */
  private readonly cow = new CopyOnWrite();

  constructor(
    protected readonly backend: StateScope,
    ttl: StateTtlConfig | undefined,
    /** Key -> stored item (`S`, or `TtlEntry<S>` with a TTL). */
    readonly map: StateMap<unknown>,
  ) {
    this.ttl = ttl ? new Ttl(ttl) : undefined;
  }

  /** Reads the item of the current key, honouring the TTL. */
  protected read(): S | undefined {
    const key = this.backend.getCurrentKey();
    let stored = this.map.get(key);
    if (stored === undefined) return undefined;
    if (this.cow.watching) stored = this.cow.own(this.map, key, stored);
    const ttl = this.ttl;
    if (!ttl) return stored as S;
    const entry = stored as TtlEntry<S>;
    const now = this.backend.now();
    if (ttl.expired(entry.t, now)) {
      if (ttl.returnExpired) return entry.v;
      this.map.delete(key);
      return undefined;
    }
    if (ttl.updateOnRead) entry.t = now;
    return entry.v;
  }

  /** Writes the item of the current key (refreshing the TTL). */
  protected write(value: S): void {
    const key = this.backend.getCurrentKey();
    if (!this.ttl) {
      this.map.set(key, value);
      return;
    }
    const now = this.backend.now();
    let stored = this.map.get(key) as TtlEntry<S> | undefined;
    if (stored !== undefined && this.cow.watching)
      stored = this.cow.own<unknown>(this.map, key, stored) as TtlEntry<S>;
    if (stored) {
      stored.v = value;
      stored.t = now;
    } else this.map.set(key, { v: value, t: now } satisfies TtlEntry<S>);
  }

  /** Removes the current key's item. */
  clear(): void {
    this.map.delete(this.backend.getCurrentKey());
  }

  /** Items are handed out (and changed in place) only through read and write, which copy first. */
  guardSnapshot(guard: SnapshotGuard): boolean {
    this.cow.watch(guard);
    return true;
  }

  /** Removes `key`'s item. */
  dropKey(key: Key): void {
    this.map.delete(key);
  }

  /** Converts a stored item into snapshot data (copy containers that are mutated in place). */
  protected encode(value: S): unknown {
    return value;
  }
  /** Inverse of {@link encode}. */
  protected decode(data: unknown): S {
    return data as S;
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    const ttl = this.ttl;
    const now = ttl ? this.backend.now() : 0;
    for (const [key, stored] of this.map) {
      if (!ttl) {
        emit(key, this.encode(stored as S));
        continue;
      }
      const entry = stored as TtlEntry<S>;
      // Full-snapshot cleanup: expired entries are not written.
      if (ttl.expired(entry.t, now)) continue;
      emit(key, { v: this.encode(entry.v), t: entry.t } satisfies TtlEntry<unknown>);
    }
  }

  restoreKey(key: Key, data: unknown): void {
    if (!this.ttl) {
      this.map.set(key, this.decode(data));
      return;
    }
    const entry = data as TtlEntry<unknown>;
    this.map.set(key, { v: this.decode(entry.v), t: entry.t } satisfies TtlEntry<S>);
  }
}

/** {@link ValueState} on the heap. */
export class HeapValueState<T> extends SingleValueHeapState<T> implements ValueState<T> {
  /** State kind. */
  readonly kind = 'value';
  private readonly defaultValue: T | undefined;
  constructor(
    backend: StateScope,
    descriptor: ValueStateDescriptor<T>,
    map: StateMap<unknown> = new Map<Key, unknown>(),
  ) {
    super(backend, descriptor.ttl, map);
    this.defaultValue = descriptor.defaultValue;
  }
  value(): T | undefined {
    const v = this.read();
    return v === undefined ? this.defaultValue : v;
  }
  update(value: T): void {
    if (value === undefined) this.clear();
    else this.write(value);
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

/** {@link ListState} on the heap (the TTL applies to the whole list of a key). */
export class HeapListState<T> extends SingleValueHeapState<T[]> implements ListState<T> {
  /** State kind. */
  readonly kind = 'list';
  constructor(
    backend: StateScope,
    descriptor: ListStateDescriptor<T>,
    map: StateMap<unknown> = new Map<Key, unknown>(),
  ) {
    super(backend, descriptor.ttl, map);
  }
  get(): readonly T[] {
    return this.read() ?? EMPTY;
  }
  add(value: T): void {
    const list = this.read();
    if (list) {
      list.push(value);
      if (this.ttl) this.write(list);
    } else this.write([value]);
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    const list = this.read();
    if (list) {
      for (const v of values) list.push(v);
      if (this.ttl) this.write(list);
    } else this.write(values.slice());
  }
  update(values: readonly T[]): void {
    if (values.length === 0) this.clear();
    else this.write(values.slice());
  }
  protected override encode(value: T[]): unknown {
    return value.slice();
  }
}

/** {@link ReducingState} on the heap. */
export class HeapReducingState<T> extends SingleValueHeapState<T> implements ReducingState<T> {
  /** State kind. */
  readonly kind = 'reducing';
  private readonly reduce: (a: T, b: T) => T;
  constructor(
    backend: StateScope,
    descriptor: ReducingStateDescriptor<T>,
    map: StateMap<unknown> = new Map<Key, unknown>(),
  ) {
    super(backend, descriptor.ttl, map);
    this.reduce = descriptor.reduce;
  }
  get(): T | undefined {
    return this.read();
  }
  add(value: T): void {
    const current = this.read();
    this.write(current === undefined ? value : this.reduce(current, value));
  }
}

/** {@link AggregatingState} on the heap. */
export class HeapAggregatingState<IN, ACC, OUT>
  extends SingleValueHeapState<ACC>
  implements AggregatingState<IN, OUT>
{
  /** State kind. */
  readonly kind = 'aggregating';
  private readonly aggregate: AggregateFunction<IN, ACC, OUT>;
  constructor(
    backend: StateScope,
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
    map: StateMap<unknown> = new Map<Key, unknown>(),
  ) {
    super(backend, descriptor.ttl, map);
    this.aggregate = descriptor.aggregate;
  }
  get(): OUT | undefined {
    const acc = this.read();
    return acc === undefined ? undefined : this.aggregate.getResult(acc);
  }
  add(value: IN): void {
    const acc = this.read();
    this.write(this.aggregate.add(value, acc === undefined ? this.aggregate.createAccumulator() : acc));
  }
}

/** {@link MapState} on the heap (the TTL applies per map entry). */
export class HeapMapState<K extends Key, V> implements MapState<K, V>, KeyedStatePart {
  /** State kind. */
  readonly kind = 'map';
  private readonly ttl: Ttl | undefined;
  /** Copies a key's user map before it is read or changed, while a snapshot holding it is packed. */
  private readonly cow = new CopyOnWrite();

  constructor(
    private readonly backend: StateScope,
    descriptor: MapStateDescriptor<K, V>,
    /** Key -> user map (values TTL-wrapped when a TTL is set). */
    readonly map: StateMap<Map<K, unknown>> = new Map<Key, Map<K, unknown>>(),
  ) {
    this.ttl = descriptor.ttl ? new Ttl(descriptor.ttl) : undefined;
  }

  private userMap(create: boolean): Map<K, unknown> | undefined {
    const key = this.backend.getCurrentKey();
    let m = this.map.get(key);
    if (m !== undefined && this.cow.watching) m = this.cow.own(this.map, key, m);
    if (!m && create) this.map.set(key, (m = new Map<K, unknown>()));
    return m;
  }

  /** Every read and change goes through the current key's user map, which is copied first. */
  guardSnapshot(guard: SnapshotGuard): boolean {
    this.cow.watch(guard);
    return true;
  }

  /** Reads one stored entry honouring the TTL; `found` is false for absent/expired. */
  private readEntry(m: Map<K, unknown>, k: K, now: number): { found: boolean; value: V | undefined } {
    const stored = m.get(k);
    if (stored === undefined && !m.has(k)) return NOT_FOUND;
    const ttl = this.ttl;
    if (!ttl) return { found: true, value: stored as V };
    const entry = stored as TtlEntry<V>;
    if (ttl.expired(entry.t, now)) {
      if (ttl.returnExpired) return { found: true, value: entry.v };
      m.delete(k);
      return NOT_FOUND;
    }
    if (ttl.updateOnRead) entry.t = now;
    return { found: true, value: entry.v };
  }

  get(key: K): V | undefined {
    const m = this.userMap(false);
    if (!m) return undefined;
    if (!this.ttl) return m.get(key) as V | undefined;
    return this.readEntry(m, key, this.backend.now()).value;
  }
  put(key: K, value: V): void {
    const m = this.userMap(true)!;
    m.set(key, this.ttl ? ({ v: value, t: this.backend.now() } satisfies TtlEntry<V>) : value);
  }
  contains(key: K): boolean {
    const m = this.userMap(false);
    if (!m) return false;
    if (!this.ttl) return m.has(key);
    return this.readEntry(m, key, this.backend.now()).found;
  }
  remove(key: K): void {
    const m = this.userMap(false);
    if (!m) return;
    m.delete(key);
    if (m.size === 0) this.map.delete(this.backend.getCurrentKey());
  }
  *entries(): IterableIterator<[K, V]> {
    const m = this.userMap(false);
    if (!m) return;
    if (!this.ttl) {
      yield* m as Map<K, V>;
      return;
    }
    const now = this.backend.now();
    for (const k of [...m.keys()]) {
      const r = this.readEntry(m, k, now);
      if (r.found) yield [k, r.value as V];
    }
  }
  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }
  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }
  isEmpty(): boolean {
    const m = this.userMap(false);
    if (!m) return true;
    if (!this.ttl) return m.size === 0;
    for (const _ of this.entries()) return false;
    return true;
  }
  clear(): void {
    this.map.delete(this.backend.getCurrentKey());
  }

  /** Removes `key`'s map. */
  dropKey(key: Key): void {
    this.map.delete(key);
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    const ttl = this.ttl;
    const now = ttl ? this.backend.now() : 0;
    for (const [key, m] of this.map) {
      const entries: [K, unknown][] = [];
      for (const [k, stored] of m) {
        if (ttl && ttl.expired((stored as TtlEntry<V>).t, now)) continue;
        entries.push([k, ttl ? { ...(stored as TtlEntry<V>) } : stored]);
      }
      if (entries.length > 0) emit(key, entries);
    }
  }
  restoreKey(key: Key, data: unknown): void {
    this.map.set(key, new Map(data as [K, unknown][]));
  }
}

const NOT_FOUND = Object.freeze({ found: false, value: undefined });

/** How a map state's user maps are stored on disk: as their entries. */
export const USER_MAP_CODEC: StateValueCodec<Map<Key, unknown>> = Object.freeze({
  encode: (m: Map<Key, unknown>): unknown => [...m],
  decode: (data: unknown): Map<Key, unknown> => new Map(data as [Key, unknown][]),
});
