/**
 * Asynchronous heap snapshots: what lets a task pack its keyed state after
 * the barrier, between its processing slices, instead of all at once.
 *
 * At the barrier a heap snapshot holds references to the stored values, not
 * copies (copying every value costs as much as packing it). A state part
 * that can be trusted with that — it copies a stored value before anything
 * could change it in place, while the snapshot is being packed — says so in
 * {@link KeyedStatePart.guardSnapshot} and watches the {@link SnapshotGuard}
 * until it is released: the first time a key is touched, its value is
 * replaced by a copy ({@link cloneStateData}), so the snapshot's reference
 * keeps the value of the barrier. A part that cannot (or a value that cannot
 * be copied) makes the task pack the snapshot at once, as before.
 */
import type { Key } from '@freshet/api';

/** A snapshot being packed after its barrier; parts copy a value before changing it while it is active. */
export interface SnapshotGuard {
  /** While true, the snapshot holds references to the values stored at the barrier. */
  readonly active: boolean;
  /** Packs the rest of the snapshot now (a value could not be copied): afterwards nothing needs guarding. */
  finishNow(): void;
}

/** A value {@link cloneStateData} cannot copy exactly (a class instance, a function, a cycle). */
export class NotClonableError extends Error {
  override readonly name = 'NotClonableError';
}

/** Nesting past this depth is taken for a cycle (msgpack would not write it either). */
const MAX_DEPTH = 64;

const OBJECT_PROTO = Object.prototype;

/**
 * A deep copy of plain state data, of exactly the types msgpack writes and
 * reads back (so the copy packs to the same bytes): primitives as they are;
 * arrays, plain objects, `Map`, `Set`, `Date`, `Buffer` and the standard
 * typed arrays copied.
 *
 * @throws {@link NotClonableError} for anything else (the caller packs the snapshot at once instead)
 */
export function cloneStateData<T>(value: T): T {
  return clone(value, 0) as T;
}

function clone(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'function' || typeof v === 'symbol')
      throw new NotClonableError(`a ${typeof v} in state`);
    return v;
  }
  if (depth > MAX_DEPTH) throw new NotClonableError('state nested too deep (a cycle?)');
  const d = depth + 1;
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = clone(v[i], d);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === OBJECT_PROTO || proto === null) {
    const out: Record<string, unknown> =
      proto === null ? (Object.create(null) as Record<string, unknown>) : {};
    const src = v as Record<string, unknown>;
    for (const k of Object.keys(src)) out[k] = clone(src[k], d);
    return out;
  }
  if (v instanceof Map && proto === Map.prototype) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) out.set(clone(k, d), clone(x, d));
    return out;
  }
  if (v instanceof Set && proto === Set.prototype) {
    const out = new Set<unknown>();
    for (const x of v) out.add(clone(x, d));
    return out;
  }
  if (v instanceof Date && proto === Date.prototype) return new Date(v.getTime());
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const ctor = (v as { constructor: unknown }).constructor;
    if (TYPED_ARRAYS.has(ctor)) return (v as unknown as Uint8Array).slice();
  }
  throw new NotClonableError(
    `a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'} in state`,
  );
}

const TYPED_ARRAYS = new Set<unknown>([
  Uint8Array,
  Uint8ClampedArray,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]);

/**
 * The copy-on-first-touch bookkeeping of one state map while a snapshot is
 * being packed: {@link own} gives the value to change for a key, a copy the
 * first time the key is touched under an active guard (stored back into the
 * map), the value itself otherwise.
 */
export class CopyOnWrite {
  private guard: SnapshotGuard | undefined;
  private readonly copied = new Set<Key>();

  /** Starts guarding the snapshot `guard` packs (a newer snapshot replaces an older one). */
  watch(guard: SnapshotGuard): void {
    this.guard = guard;
    this.copied.clear();
  }

  private stopWatching(): void {
    this.guard = undefined;
    this.copied.clear();
  }

  /**
   * The stored value of `key` to read or change in place: under an active
   * guard, on the first touch since the barrier, a copy put into `map` in
   * its place. `stored` is `map.get(key)`.
   */
  own<V>(map: { set(key: Key, value: V): unknown }, key: Key, stored: V): V {
    const guard = this.guard;
    if (guard === undefined || stored === undefined) return stored;
    if (!guard.active) {
      this.stopWatching();
      return stored;
    }
    if (this.copied.has(key)) return stored;
    let copy: V;
    try {
      copy = cloneStateData(stored);
    } catch (error) {
      if (!(error instanceof NotClonableError)) throw error;
      // Not copyable: the snapshot is packed now, and the value may change from here on.
      guard.finishNow();
      this.stopWatching();
      return stored;
    }
    this.copied.add(key);
    map.set(key, copy);
    return copy;
  }

  /** Whether a guard is being watched (the caller's fast path skips {@link own} otherwise). */
  get watching(): boolean {
    return this.guard !== undefined;
  }
}
