/**
 * The on-disk keyed state store (the `'disk'` state backend): an embedded
 * LMDB environment per keyed operator instance, in a fresh temporary
 * directory, with a bounded write cache in front of it.
 *
 * - Every piece of keyed state is a {@link StateMap}: the heap backend's
 *   parts hold a plain `Map` there, the disk backend's a
 *   {@link DiskStateMap}, so the states and operators run the same code on
 *   either backend and the heap backend's hot path is still one `Map`
 *   lookup.
 * - A {@link DiskStateMap} keeps the entries touched since its last flush in
 *   a `Map` (values stay live objects, so state updated in place — a list
 *   state's `push`, a window's contents — needs no write-back call). When the
 *   cache is full, before a new key is admitted, every cached entry is
 *   written in one synchronous LMDB transaction and the cache is emptied: no
 *   transaction or Promise per record. Only the key being accessed is held
 *   by a caller at that moment (keyed operators touch the current key's
 *   state), so nothing still in use is dropped.
 * - Keys are stored as `[keyGroup, key]` (ordered-binary), so one key
 *   group's entries are one range and a snapshot can be taken per key group.
 * - Values are msgpack (msgpackr with `moreTypes`, as checkpoints), so what
 *   a state holds survives exactly what a checkpoint round trip preserves.
 *
 * The store is scratch space, not a durable copy: checkpoints are the
 * durable state. It is opened without fsync and a new attempt never reopens
 * one (each {@link DiskStateStore} creates its own directory and restores
 * from its snapshot), and the directory is removed when the operator closes
 * (finish, fail, cancel). Directories left behind by a killed process are
 * removed by the next store created under the same parent once that process
 * is gone.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Database, RootDatabase } from 'lmdb';
import { Packr, Unpackr } from 'msgpackr';
import type { Key } from '@freshet/api';
import { keyGroupOf } from '../keygroups.js';
import type { HeapKeyGroup, KeyGroupSnapshot } from './backend.js';

/**
 * The part of `Map<Key, V>` keyed state uses. A plain `Map` is one (the
 * heap backend); {@link DiskStateMap} is the other.
 */
export interface StateMap<V> {
  /** The value of `key`, or undefined. */
  get(key: Key): V | undefined;
  /** Sets the value of `key`. */
  set(key: Key, value: V): unknown;
  /** Removes `key`. */
  delete(key: Key): unknown;
  /** Whether `key` has a value. */
  has(key: Key): boolean;
  /** Removes every key. */
  clear(): void;
  /** Number of keys. */
  readonly size: number;
  /** Every key and value (order unspecified). */
  [Symbol.iterator](): IterableIterator<[Key, V]>;
}

/** How a {@link DiskStateMap} turns its values into plain data for msgpack and back. */
export interface StateValueCodec<V> {
  /** Plain data of `value` (may be `value` itself). */
  encode(value: V): unknown;
  /** The value of what {@link encode} returned. */
  decode(data: unknown): V;
}

/** The codec of values that are plain data already. */
export const PLAIN_CODEC: StateValueCodec<unknown> = Object.freeze({
  encode: (value: unknown): unknown => value,
  decode: (data: unknown): unknown => data,
});

/** Options of a {@link DiskStateStore}. */
export interface DiskStateOptions {
  /** Parent of the store's temporary directory. @default os.tmpdir() */
  dir?: string;
  /** Entries each state map caches in memory before it flushes to disk. @default 4096 */
  cacheEntries?: number;
}

/** Default of {@link DiskStateOptions.cacheEntries}. */
export const DEFAULT_DISK_CACHE_ENTRIES = 4096;

const DIR_PREFIX = 'freshet-state-';

/**
 * LMDB, loaded on first use: it is a native addon, and processes that never
 * open a disk store (the plan sandbox, heap-backend job processes) run under
 * Node's permission model, which refuses native addons.
 */
let lmdb: typeof import('lmdb') | undefined;
function loadLmdb(): typeof import('lmdb') {
  return (lmdb ??= createRequire(import.meta.url)('lmdb') as typeof import('lmdb'));
}

const packr = new Packr({ moreTypes: true });
const unpackr = new Unpackr({ moreTypes: true });

/** A cached removal: the key is deleted from disk at the next flush. */
const REMOVED: unique symbol = Symbol('removed');

type StoreKey = [number, Key];

/** The change records a store's maps share (see {@link DiskStateStore}). */
interface ChangeFlags {
  changed: Uint8Array;
  whole: Uint8Array;
  keyLimits: Uint32Array;
}

/** What {@link DiskStateStore.takeChanges} returns. */
export interface StoreChanges {
  /** Per key group: 1 when any map's entry of it was written, removed or cleared. */
  changed: Uint8Array;
  /** Per key group: 1 when its changed keys are not known (write it whole). */
  whole: Uint8Array;
  /** Per map, per key group not to be written whole: the keys written or removed. */
  keys: Map<DiskStateMap<unknown>, Map<number, Set<Key>>>;
}

/** One keyed operator instance's on-disk state: one LMDB environment, one database per state part. */
export class DiskStateStore {
  /** The store's own directory (removed by {@link close}). */
  readonly dir: string;
  private readonly env: RootDatabase;
  private readonly maps: DiskStateMap<unknown>[] = [];
  private readonly cacheEntries: number;
  private closed = false;
  /**
   * One flag per key group: set when a flush or clear of any map touched
   * the key group since {@link takeChanges} last ran (what an incremental
   * checkpoint must write again, whole or as a delta). Shared by the store's maps.
   */
  private readonly changed: Uint8Array;
  /**
   * One flag per key group: its changed keys are not known (a map's set of
   * them grew past {@link keyLimits}, or a map was cleared), so an
   * incremental checkpoint writes the key group whole. Shared by the maps.
   */
  private readonly whole: Uint8Array;
  /**
   * Per key group, how many changed keys one map tracks before it gives up
   * (sets {@link whole}): set by the backend after each snapshot from what
   * it wrote; 0 until then (a key group no snapshot wrote is written whole anyway).
   */
  readonly keyLimits: Uint32Array;

  constructor(
    /** Number of key groups of the job. */
    private readonly maxParallelism: number,
    options: DiskStateOptions = {},
  ) {
    const parent = options.dir ?? tmpdir();
    removeStaleStores(parent);
    this.dir = mkdtempSync(join(parent, `${DIR_PREFIX}${process.pid}-`));
    this.cacheEntries = Math.max(1, options.cacheEntries ?? DEFAULT_DISK_CACHE_ENTRIES);
    this.changed = new Uint8Array(maxParallelism);
    this.whole = new Uint8Array(maxParallelism);
    this.keyLimits = new Uint32Array(maxParallelism);
    this.env = loadLmdb().open({
      path: join(this.dir, 'state.mdb'),
      maxDbs: 1024,
      // Scratch space: a crash loses nothing a checkpoint does not hold.
      noSync: true,
      noMetaSync: true,
      compression: false,
      encoding: 'binary',
      keyEncoding: 'ordered-binary',
    });
  }

  /** A new state map stored in the database `name` (one per state part). */
  map<V>(name: string, codec: StateValueCodec<V>): DiskStateMap<V> {
    const db = this.env.openDB<Buffer, StoreKey>({
      name,
      encoding: 'binary',
      keyEncoding: 'ordered-binary',
    });
    const map = new DiskStateMap<V>(this.env, db, codec, this.cacheEntries, this.maxParallelism, {
      changed: this.changed,
      whole: this.whole,
      keyLimits: this.keyLimits,
    });
    this.maps.push(map);
    return map;
  }

  /** Writes every map's cached entries to disk (marking their key groups changed). */
  flushAll(): void {
    for (const map of this.maps) map.flush();
  }

  /**
   * What changed since the previous call (flushes first): the key groups
   * changed, those to be written whole, and each map's changed keys per
   * key group (by map; only key groups not written whole). The store's own
   * records start over empty.
   */
  takeChanges(): StoreChanges {
    this.flushAll();
    const keys = new Map<DiskStateMap<unknown>, Map<number, Set<Key>>>();
    for (const map of this.maps) {
      const taken = map.takeChangedKeys();
      if (taken.size > 0) keys.set(map, taken);
    }
    const out: StoreChanges = { changed: this.changed.slice(), whole: this.whole.slice(), keys };
    this.changed.fill(0);
    this.whole.fill(0);
    return out;
  }

  /** Closes the environment and removes the directory. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Nothing is written asynchronously, so the close settles at once; the files go with the directory either way.
    void this.env.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A keyed state map on disk with a write cache (see the module comment).
 * Values handed out stay valid until the next access of another key of this
 * map that misses the cache.
 */
export class DiskStateMap<V> implements StateMap<V> {
  private readonly cache = new Map<Key, V | typeof REMOVED>();
  /** Keys written or removed since {@link takeChangedKeys} last ran, per key group (not those written whole). */
  private changedKeys = new Map<number, Set<Key>>();

  constructor(
    private readonly env: RootDatabase,
    private readonly db: Database<Buffer, StoreKey>,
    private readonly codec: StateValueCodec<V>,
    private readonly cacheEntries: number,
    private readonly maxParallelism: number,
    /** The store's change records (see {@link DiskStateStore.takeChanges}). */
    private readonly flags: ChangeFlags,
  ) {}

  get(key: Key): V | undefined {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached === REMOVED ? undefined : cached;
    const bytes = this.db.getBinaryFast([keyGroupOf(key, this.maxParallelism), key]);
    if (bytes === undefined) return undefined;
    const value = this.codec.decode(unpackr.unpack(bytes));
    this.admit(key, value);
    return value;
  }

  set(key: Key, value: V): this {
    if (this.cache.has(key)) this.cache.set(key, value);
    else this.admit(key, value);
    return this;
  }

  delete(key: Key): boolean {
    if (this.cache.has(key)) this.cache.set(key, REMOVED);
    else this.admit(key, REMOVED);
    return true;
  }

  has(key: Key): boolean {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached !== REMOVED;
    return this.db.doesExist([keyGroupOf(key, this.maxParallelism), key]);
  }

  clear(): void {
    this.cache.clear();
    this.db.clearSync();
    // Which keys were held is not known without reading them: every key group is written whole.
    this.flags.changed.fill(1);
    this.flags.whole.fill(1);
    this.changedKeys.clear();
  }

  get size(): number {
    this.flush();
    return this.db.getCount();
  }

  /** Writes every cached entry to disk in one transaction and empties the cache. */
  flush(): void {
    const cache = this.cache;
    if (cache.size === 0) return;
    const db = this.db;
    const codec = this.codec;
    const maxParallelism = this.maxParallelism;
    const { changed, whole, keyLimits } = this.flags;
    const changedKeys = this.changedKeys;
    this.env.transactionSync(() => {
      for (const [key, value] of cache) {
        const kg = keyGroupOf(key, maxParallelism);
        // Every cached entry is written back (a value read may have been changed in place): it changed.
        changed[kg] = 1;
        if (whole[kg] === 0) {
          let keys = changedKeys.get(kg);
          if (keys === undefined) changedKeys.set(kg, (keys = new Set()));
          keys.add(key);
          if (keys.size > keyLimits[kg]!) {
            // Too many to be worth a delta (or to keep in memory): the key group is written whole.
            whole[kg] = 1;
            changedKeys.delete(kg);
          }
        }
        const storeKey: StoreKey = [kg, key];
        if (value === REMOVED) db.removeSync(storeKey);
        else db.putSync(storeKey, packr.pack(codec.encode(value)));
      }
    });
    cache.clear();
  }

  /**
   * Appends the snapshot data of key group `kg` to `out`: each key with its
   * value as plain data (what the codec's `encode` gave, which is what the
   * state part's own `snapshotKeys` emits), read straight from disk.
   */
  snapshotGroup(kg: number, out: [Key, unknown][]): void {
    this.flush();
    for (const { key, value } of this.db.getRange({ start: [kg], end: [kg + 1] })) {
      out.push([key[1], unpackr.unpack(value)]);
    }
  }

  /**
   * The keys of key group `kg` written or removed since the last
   * {@link DiskStateStore.takeChanges}, as delta data: each present key's
   * value as plain data (`puts`, as {@link snapshotGroup} gives it) and the
   * absent ones (`removed`), read straight from disk (flushes first).
   */
  deltaOf(kg: number, keys: Iterable<Key>, puts: [Key, unknown][], removed: Key[]): void {
    this.flush();
    for (const key of keys) {
      const bytes = this.db.getBinaryFast([kg, key]);
      if (bytes === undefined) removed.push(key);
      else puts.push([key, unpackr.unpack(bytes)]);
    }
  }

  /** Hands over the changed keys recorded since the previous call and starts over. */
  takeChangedKeys(): Map<number, Set<Key>> {
    const taken = this.changedKeys;
    this.changedKeys = new Map();
    for (const kg of taken.keys()) if (this.flags.whole[kg] === 1) taken.delete(kg);
    return taken;
  }

  *[Symbol.iterator](): IterableIterator<[Key, V]> {
    this.flush();
    for (const { key, value } of this.db.getRange({})) {
      yield [key[1], this.codec.decode(unpackr.unpack(value))];
    }
  }

  /** Entries cached in memory right now (for tests). */
  cachedEntries(): number {
    return this.cache.size;
  }

  private admit(key: Key, value: V | typeof REMOVED): void {
    if (this.cache.size >= this.cacheEntries) this.flush();
    this.cache.set(key, value);
  }
}

/**
 * One key group's snapshot data as bytes of its own: the disk backend's
 * snapshots hold one such buffer per key group instead of the objects, so a
 * snapshot of state larger than the heap takes about one key group of heap
 * at a time (the buffers live outside it).
 */
export function encodeKeyGroup(group: KeyGroupSnapshot): Uint8Array {
  // msgpackr packs into a scratch buffer it reuses: the key group gets a copy of its own.
  return Uint8Array.prototype.slice.call(packr.pack(group));
}

/**
 * A key group of a snapshot as data: decodes what {@link encodeKeyGroup}
 * wrote (alone or as `[buffer, heapParts]`), passes the heap backend's
 * objects through, and gives every part as `[key, data]` pairs (the heap
 * backend writes columns, `KeyGroupColumns`; older snapshots hold pairs).
 *
 * @throws TypeError for a piece reference of an incremental snapshot that was not resolved
 */
export function decodeKeyGroup(data: unknown): KeyGroupSnapshot | undefined {
  // A buffer holds pairs (the disk backend) or columns (a heap key group packed after its barrier).
  if (data instanceof Uint8Array) return pairsOf(unpackr.unpack(data) as HeapKeyGroup);
  if (Array.isArray(data) && data[0] instanceof Uint8Array) {
    // The disk parts' buffer and the parts held on the heap (timers), apart.
    const group = pairsOf(unpackr.unpack(data[0]) as HeapKeyGroup);
    const heap = pairsOf(data[1] as HeapKeyGroup);
    for (const name in heap) group[name] = heap[name]!;
    return group;
  }
  if (typeof data === 'number' || Array.isArray(data)) {
    throw new TypeError(
      'a key group of an incremental snapshot still refers to an earlier piece; resolve the snapshot (resolveSubtaskSnapshot) before reading it',
    );
  }
  return data === undefined || data === null ? undefined : pairsOf(data as HeapKeyGroup);
}

/** A heap key group with every part as pairs (columns are converted, in place). */
function pairsOf(group: HeapKeyGroup): KeyGroupSnapshot {
  for (const name in group) {
    const part = group[name]!;
    if (Array.isArray(part)) continue;
    const { keys, values } = part;
    if (!Array.isArray(keys) || !Array.isArray(values) || keys.length !== values.length) {
      throw new TypeError(`corrupt key group: state '${name}' has ${describeColumns(part)}`);
    }
    const pairs: [unknown, unknown][] = new Array<[unknown, unknown]>(keys.length);
    for (let i = 0; i < keys.length; i++) pairs[i] = [keys[i], values[i]];
    (group as Record<string, unknown>)[name] = pairs;
  }
  return group as KeyGroupSnapshot;
}

function describeColumns(part: unknown): string {
  if (typeof part !== 'object' || part === null) return `no entries but ${typeof part}`;
  const { keys, values } = part as { keys?: unknown; values?: unknown };
  if (!Array.isArray(keys) || !Array.isArray(values)) return 'neither entry pairs nor key and value columns';
  return `${keys.length} keys but ${values.length} values`;
}

/** Removes the store directories under `parent` whose process is gone (killed before it could close them). */
function removeStaleStores(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const pid = Number(name.slice(DIR_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
