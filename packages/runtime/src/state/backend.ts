/**
 * The keyed-state backend of one operator instance. On the heap backend
 * (the default) every piece of keyed state (user state, timers, window
 * contents) lives in plain `Map`s keyed by the record key, so access on the
 * hot path is one `Map` lookup. On the disk backend (`options.disk`) the
 * parts that hold state per key — user state, window contents, rolling
 * aggregates — take their maps from {@link HeapKeyedStateBackend.stateMap}, which
 * then stores them in an on-disk {@link DiskStateStore}; timers stay on the
 * heap. Key groups are computed only at snapshot time (and, on disk, when an
 * entry is read from or written to the store), when the state is split per
 * key group so that a restore at a different parallelism can pick exactly the
 * key groups it owns. Both backends write the same snapshots, so either
 * restores the other's checkpoints and savepoints.
 */
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  Key,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from '@freshet/api';
import { keyGroupOf } from '../keygroups.js';
import type { SnapshotGuard } from './snapshot-guard.js';
import type { OperatorSnapshot } from '../operator.js';
import { OperatorUsageError } from '../operators/errors.js';
import {
  decodeKeyGroup,
  DiskStateStore,
  encodeKeyGroup,
  PLAIN_CODEC,
  type DiskStateMap,
  type DiskStateOptions,
  type StateMap,
  type StateValueCodec,
} from './disk-store.js';
import {
  CHAIN_TAG,
  encodeKeyGroupDelta,
  type KeyGroupChainData,
  type KeyGroupDelta,
} from './key-group-chain.js';
import {
  HeapAggregatingState,
  HeapListState,
  HeapMapState,
  HeapReducingState,
  HeapValueState,
  type HeapState,
  USER_MAP_CODEC,
} from './states.js';

/**
 * One named piece of keyed state that takes part in snapshots. The backend
 * asks it for its data per key and hands data back per key on restore.
 */
export interface KeyedStatePart {
  /** Calls `emit` once for each key that holds data, with plain serializable data. */
  snapshotKeys(emit: (key: Key, data: unknown) => void): void;
  /** Restores the data one key had at the snapshot. */
  restoreKey(key: Key, data: unknown): void;
  /** Forgets everything `key` holds (BATCH input grouped by key, once the key is done). */
  dropKey?(key: Key): void;
  /**
   * The snapshot just taken will be packed later, while this part goes on:
   * returns true when the part keeps the data it emitted unchanged until
   * `guard` is released (it emitted copies, or it copies a value before
   * changing it, see `snapshot-guard.ts`). Absent or false: the snapshot is
   * packed at once.
   */
  guardSnapshot?(guard: SnapshotGuard): boolean;
}

/** Snapshot data of one key group: part name -> `[key, data]` pairs (what readers get, {@link decodeKeyGroup}). */
export type KeyGroupSnapshot = Record<string, [Key, unknown][]>;

/**
 * One part's entries of a key group as two columns, `keys[i]` holding
 * `values[i]`: how the heap backend writes its snapshots. msgpack packs two
 * arrays of n items faster than n two-item arrays, and the split allocates
 * no pair per entry: the synchronous part of a heap checkpoint of 100,000
 * keys took about a fifth less (median 104–111 ms → 80–93 ms). Readers see
 * pairs ({@link decodeKeyGroup} converts).
 */
export interface KeyGroupColumns {
  keys: Key[];
  values: unknown[];
}

/** A key group's parts as a snapshot holds them on the heap: columns (written since 2026-12) or pairs. */
export type HeapKeyGroup = Record<string, [Key, unknown][] | KeyGroupColumns>;

/**
 * An incremental snapshot's key group that did not change since checkpoint
 * N: the id N, whose stored piece of the same subtask holds the key
 * group's data (`[N, heapParts]` when parts held on the heap, e.g. timers,
 * have data there too). Resolved before a restore (`resolveSubtaskSnapshot`).
 */
export type KeyGroupPieceRef = number | [number, HeapKeyGroup];

/**
 * What a snapshot's `keyed` holds per key group: objects (heap), one
 * buffer (disk; `[buffer, heapParts]` when parts held on the heap have data
 * there too), or a piece reference (disk, incremental).
 */
export type KeyedGroupData =
  HeapKeyGroup | Uint8Array | [Uint8Array, HeapKeyGroup] | KeyGroupPieceRef | KeyGroupChainData;

/**
 * Deltas a key group's chain holds at most before the next change rewrites
 * it whole (compaction by rewrite): bounds the pieces a restore reads and
 * the checkpoints' files retention keeps per key group.
 */
export const MAX_CHAIN_DELTAS = 8;

/** Changed keys of a key group one state part tracks at most; past that the key group is written whole. */
export const MAX_TRACKED_KEYS_PER_GROUP = 4096;

/** A key group's chain: the checkpoints whose pieces hold its base and deltas. */
interface GroupChain {
  /** The base's checkpoint, then each delta's, in order. */
  ids: number[];
  /** Size of the base buffer. */
  baseBytes: number;
  /** Size of all its deltas. */
  deltaBytes: number;
  /** Entries of the base plus the deltas' puts (an upper bound of the key group's entries). */
  entries: number;
}

/** What one snapshot not yet completed or aborted wrote, and the changes it saw. */
interface PendingPieces {
  /** Each key group it wrote: its chain then (null: empty, nothing written). */
  chains: Map<number, GroupChain | null>;
  /** The changed keys it used (per map, per key group), until a later snapshot takes them on. */
  keys: Map<DiskStateMap<unknown>, Map<number, Set<Key>>>;
  /** Key groups whose changed keys were not known, until a later snapshot takes them on. */
  whole: number[];
}

/** How many changed keys of a key group of `entries` entries a state part tracks: about a quarter, capped. */
function keyLimitOf(entries: number): number {
  return Math.min(MAX_TRACKED_KEYS_PER_GROUP, Math.max(16, entries >> 2));
}

/** A snapshot's reference to key group data a chain of earlier pieces holds. */
function chainRef(chain: GroupChain, heapGroup: HeapKeyGroup | undefined): KeyedGroupData {
  // A chain of one is the plain piece reference incremental checkpoints wrote before deltas.
  if (chain.ids.length === 1) return heapGroup === undefined ? chain.ids[0]! : [chain.ids[0]!, heapGroup];
  return [CHAIN_TAG, chain.ids, null, heapGroup ?? null];
}

/** Options of a {@link HeapKeyedStateBackend}. */
export interface KeyedBackendOptions {
  /** Operator name, for error messages. */
  operatorName: string;
  /** Number of key groups of the job. */
  maxParallelism: number;
  /** Key groups (inclusive) this subtask owns; restore keeps only these. */
  keyGroupRange: { readonly start: number; readonly end: number };
  /** Processing-time clock, for state TTL. */
  now: () => number;
  /** Keep the keyed state in an on-disk store (the `'disk'` state backend); absent = on the heap. */
  disk?: DiskStateOptions;
}

/** Heap-based keyed state for one operator instance. */
export class HeapKeyedStateBackend {
  /** The key of the record (or timer) being processed. Set with {@link setCurrentKey}. */
  currentKey: Key | undefined = undefined;
  /** Operator name, for error messages. */
  readonly operatorName: string;
  /** Processing-time clock used for TTL. */
  readonly now: () => number;
  private readonly parts = new Map<string, KeyedStatePart>();
  private readonly states = new Map<string, HeapState>();
  private readonly pending = new Map<string, [Key, unknown][]>();
  private store: DiskStateStore | undefined;
  /** The parts' maps on disk, by part name (the disk backend). */
  private readonly diskMaps = new Map<string, DiskStateMap<unknown>>();
  /**
   * The disk backend's incremental checkpoints: per key group, its chain as
   * of the last completed checkpoint that wrote it (absent: written by none
   * yet, e.g. after a restore, so the next snapshot writes it whole).
   */
  private readonly chains = new Map<number, GroupChain>();
  /** What each snapshot not yet completed or aborted wrote, and the changes it saw. */
  private readonly pendingPieces = new Map<number, PendingPieces>();
  /** An aborted checkpoint's changes may be lost: the next snapshot writes every key group whole. */
  private fullNext = false;

  constructor(private readonly options: KeyedBackendOptions) {
    this.operatorName = options.operatorName;
    this.now = options.now;
  }

  /** Sets the key that state accesses and timer registrations apply to. */
  setCurrentKey(key: Key): void {
    this.currentKey = key;
  }

  /** The current key; throws a clear error when none is set (state used outside of a record or timer). */
  getCurrentKey(): Key {
    const key = this.currentKey;
    if (key === undefined) {
      throw new OperatorUsageError(
        `Operator '${this.operatorName}': keyed state was accessed without a current key; ` +
          'read and write keyed state only while processing a record or a timer, not in open()',
      );
    }
    return key;
  }

  /**
   * Registers a part of the keyed state under a unique name. If a restore
   * brought data for that name, the part receives it right away.
   */
  registerPart(name: string, part: KeyedStatePart): void {
    if (this.parts.has(name))
      throw new OperatorUsageError(`Operator '${this.operatorName}': state '${name}' registered twice`);
    this.parts.set(name, part);
    const data = this.pending.get(name);
    if (data) {
      this.pending.delete(name);
      for (const [key, value] of data) part.restoreKey(key, value);
    }
  }

  /** Whether keyed state goes to disk (the `'disk'` backend). */
  get onDisk(): boolean {
    return this.options.disk !== undefined;
  }

  /**
   * The map a state part keeps its per-key data in: a plain `Map` on the
   * heap backend, a map on disk (database `name`, values stored as `codec`
   * says) on the disk backend.
   */
  stateMap<V>(name: string, codec: StateValueCodec<V>): StateMap<V> {
    const disk = this.options.disk;
    if (disk === undefined) return new Map<Key, V>();
    this.store ??= new DiskStateStore(this.options.maxParallelism, disk);
    const map = this.store.map(name, codec);
    this.diskMaps.set(name, map);
    return map;
  }

  /** Closes and removes the on-disk store, if any (the operator closes: finish, fail or cancel). */
  dispose(): void {
    this.store?.close();
    this.store = undefined;
  }

  /** Value state for the descriptor (one instance per name). */
  getValueState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.state(
      descriptor.name,
      'value',
      () => new HeapValueState<T>(this, descriptor, this.userStateMap(descriptor.name)),
    ) as unknown as ValueState<T>;
  }
  /** List state for the descriptor. */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.state(
      descriptor.name,
      'list',
      () => new HeapListState<T>(this, descriptor, this.userStateMap(descriptor.name)),
    ) as unknown as ListState<T>;
  }
  /** Map state for the descriptor. */
  getMapState<K extends Key, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.state(
      descriptor.name,
      'map',
      () =>
        new HeapMapState<K, V>(
          this,
          descriptor,
          this.stateMap(`s:${descriptor.name}`, USER_MAP_CODEC as StateValueCodec<Map<K, unknown>>),
        ),
    ) as unknown as MapState<K, V>;
  }
  /** Reducing state for the descriptor. */
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.state(
      descriptor.name,
      'reducing',
      () => new HeapReducingState<T>(this, descriptor, this.userStateMap(descriptor.name)),
    ) as unknown as ReducingState<T>;
  }
  /** Aggregating state for the descriptor. */
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.state(
      descriptor.name,
      'aggregating',
      () => new HeapAggregatingState<IN, ACC, OUT>(this, descriptor, this.userStateMap(descriptor.name)),
    ) as unknown as AggregatingState<IN, OUT>;
  }

  private userStateMap(name: string): StateMap<unknown> {
    return this.stateMap<unknown>(`s:${name}`, PLAIN_CODEC);
  }

  private state(name: string, kind: HeapState['kind'], create: () => HeapState): HeapState {
    const existing = this.states.get(name);
    if (existing) {
      if (existing.kind !== kind) {
        throw new OperatorUsageError(
          `Operator '${this.operatorName}': state '${name}' is a ${existing.kind} state, requested as ${kind} state`,
        );
      }
      return existing;
    }
    const created = create();
    this.states.set(name, created);
    this.registerPart(`s:${name}`, created);
    return created;
  }

  /** Forgets the state `key` holds in every part that can drop a key (user state; BATCH grouped input). */
  dropKey(key: Key): void {
    for (const part of this.parts.values()) part.dropKey?.(key);
  }

  /**
   * Splits all keyed state into key groups (the synchronous part of a
   * checkpoint). On the disk backend each key group is one buffer
   * ({@link encodeKeyGroup}), read from disk a key group at a time, and
   * the snapshot is **incremental**: a key group unchanged since the last
   * completed checkpoint that wrote it refers to the earlier pieces holding
   * it (a {@link KeyGroupPieceRef}, or a {@link KeyGroupChainData} without
   * a delta), one changed a little is a delta of its changed keys on top of
   * them (`key-group-chain.ts`), any other is written whole. `full` writes
   * every key group whole (a final state, which no later checkpoint of the
   * task follows).
   */
  snapshot(checkpointId = 0, full = false): Record<number, KeyedGroupData> {
    const heapGroups = this.snapshotHeapParts();
    const store = this.store;
    if (store === undefined) return heapGroups;
    const { changed, whole, keys } = store.takeChanges();
    // Changes since the last completed checkpoint: also those a snapshot not yet completed took (it may be aborted).
    for (const pending of this.pendingPieces.values()) {
      for (const kg of pending.chains.keys()) changed[kg] = 1;
      for (const kg of pending.whole) changed[kg] = whole[kg] = 1;
      for (const [map, groups] of pending.keys) {
        let into = keys.get(map);
        if (into === undefined) keys.set(map, (into = new Map<number, Set<Key>>()));
        for (const [kg, set] of groups) {
          const target = into.get(kg);
          if (target === undefined) into.set(kg, set);
          else for (const key of set) target.add(key);
        }
      }
      // This snapshot's record carries them on from now (one copy, not one per pending snapshot).
      pending.keys = new Map();
      pending.whole = [];
    }
    if (this.fullNext) {
      full = true;
      this.fullNext = false;
    }
    const written = new Map<number, GroupChain | null>();
    const wholeNow: number[] = [];
    const out: Record<number, KeyedGroupData> = {};
    const { start, end } = this.options.keyGroupRange;
    const limits = store.keyLimits;
    for (let kg = start; kg <= end; kg++) {
      if (whole[kg] === 1) wholeNow.push(kg);
      const heapGroup = heapGroups[kg];
      const chain = full ? undefined : this.chains.get(kg);
      if (chain !== undefined && changed[kg] === 0) {
        // Unchanged on disk since the chain's last link; heap-held parts (timers) ride along as data.
        out[kg] = chainRef(chain, heapGroup);
        continue;
      }
      if (chain !== undefined && whole[kg] === 0 && chain.ids.length <= MAX_CHAIN_DELTAS) {
        const delta = this.deltaOf(kg, keys);
        const bytes = encodeKeyGroupDelta(delta.data);
        // Worth it while the chain stays small beside its base (restore work, retained files): else rewrite it.
        if (
          bytes.byteLength * 2 <= chain.baseBytes &&
          chain.deltaBytes + bytes.byteLength <= chain.baseBytes
        ) {
          out[kg] = [CHAIN_TAG, chain.ids, bytes, heapGroup ?? null];
          const entries = chain.entries + delta.puts;
          written.set(kg, {
            ids: [...chain.ids, checkpointId],
            baseBytes: chain.baseBytes,
            deltaBytes: chain.deltaBytes + bytes.byteLength,
            entries,
          });
          limits[kg] = keyLimitOf(entries);
          continue;
        }
      }
      const group: KeyGroupSnapshot = {};
      let entries = 0;
      for (const [name, map] of this.diskMaps) {
        const list: [Key, unknown][] = [];
        map.snapshotGroup(kg, list);
        if (list.length > 0) {
          group[name] = list;
          entries += list.length;
        }
      }
      if (entries > 0) {
        const buffer = encodeKeyGroup(group);
        written.set(kg, { ids: [checkpointId], baseBytes: buffer.byteLength, deltaBytes: 0, entries });
        limits[kg] = keyLimitOf(entries);
        // Heap-held parts apart from the piece's disk data: a later reference to the piece replaces them.
        out[kg] = heapGroup === undefined ? buffer : [buffer, heapGroup];
      } else {
        written.set(kg, null);
        // Nothing to base a delta on: new keys here are written whole.
        limits[kg] = 0;
        if (heapGroup !== undefined) out[kg] = heapGroup;
      }
    }
    this.pendingPieces.set(checkpointId, { chains: written, keys, whole: wholeNow });
    // Heap-held state of keys outside the range (a test driving any key) is kept as it is.
    for (const kgText in heapGroups) {
      const kg = Number(kgText);
      if (kg < start || kg > end) out[kg] = heapGroups[kg]!;
    }
    return out;
  }

  /** The delta of key group `kg`: the current data of the keys changed since its chain's last link. */
  private deltaOf(
    kg: number,
    keys: ReadonlyMap<DiskStateMap<unknown>, ReadonlyMap<number, ReadonlySet<Key>>>,
  ): { data: KeyGroupDelta; puts: number } {
    const data: KeyGroupDelta = { puts: {}, removed: {} };
    let puts = 0;
    for (const [name, map] of this.diskMaps) {
      const changedKeys = keys.get(map)?.get(kg);
      if (changedKeys === undefined) continue;
      const put: [Key, unknown][] = [];
      const removed: Key[] = [];
      map.deltaOf(kg, changedKeys, put, removed);
      if (put.length > 0) data.puts[name] = put;
      if (removed.length > 0) data.removed[name] = removed;
      puts += put.length;
    }
    return { data, puts };
  }

  /**
   * Checkpoint `checkpointId` completed: the key groups its snapshot wrote
   * (whole or as a delta) now have the chains it recorded, the base of
   * later incremental snapshots. Its snapshot also wrote whatever earlier
   * pending ones wrote (it wrote again what they had not confirmed), so
   * those are settled with it.
   */
  notifyCheckpointComplete(checkpointId: number): void {
    const pieces = this.pendingPieces.get(checkpointId);
    if (pieces !== undefined) {
      for (const [kg, chain] of pieces.chains) {
        if (chain === null) this.chains.delete(kg);
        else this.chains.set(kg, chain);
      }
    }
    for (const id of this.pendingPieces.keys()) if (id <= checkpointId) this.pendingPieces.delete(id);
  }

  /**
   * Checkpoint `checkpointId` was aborted. Its pieces will never be
   * referenced, and it may have been aborted because a piece it referred to
   * is gone (the coordinator declines such a snapshot); the changes it took
   * are not kept apart either. So the next snapshot writes every key group
   * whole again (an abort is rare; a full snapshot after one is always
   * resolvable).
   */
  notifyCheckpointAborted(checkpointId: number): void {
    if (!this.pendingPieces.delete(checkpointId)) return;
    this.chains.clear();
    this.fullNext = true;
  }

  /**
   * Whether the snapshot just taken ({@link snapshot}) may be packed later:
   * every part held on the heap keeps its emitted data unchanged until
   * `guard` is released ({@link KeyedStatePart.guardSnapshot}). Restored
   * state no part took yet is emitted as it is, and a part registered later
   * takes it to change: then no.
   */
  guardSnapshot(guard: SnapshotGuard): boolean {
    if (this.pending.size > 0) return false;
    for (const [name, part] of this.parts) {
      if (this.diskMaps.has(name)) continue;
      if (part.guardSnapshot?.(guard) !== true) return false;
    }
    return true;
  }

  /** The snapshot data of the parts held on the heap (all of them on the heap backend), by key group. */
  private snapshotHeapParts(): Record<number, HeapKeyGroup> {
    const out: Record<number, HeapKeyGroup> = {};
    const maxParallelism = this.options.maxParallelism;
    // One part at a time, its columns by key group in an array (no per-entry lookup by part name).
    const byGroup: (KeyGroupColumns | undefined)[] = [];
    const add = (key: Key, data: unknown): void => {
      const kg = keyGroupOf(key, maxParallelism);
      const columns = (byGroup[kg] ??= { keys: [], values: [] });
      columns.keys.push(key);
      columns.values.push(data);
    };
    const collect = (name: string): void => {
      for (let kg = 0; kg < byGroup.length; kg++) {
        const columns = byGroup[kg];
        if (columns === undefined) continue;
        (out[kg] ??= {})[name] = columns;
        byGroup[kg] = undefined;
      }
    };
    for (const [name, part] of this.parts) {
      if (this.diskMaps.has(name)) continue;
      part.snapshotKeys(add);
      collect(name);
    }
    // State restored but never registered again (e.g. a state only read lazily) is carried over.
    for (const [name, entries] of this.pending) {
      for (const entry of entries) add(entry[0], entry[1]);
      collect(name);
    }
    return out;
  }

  /**
   * Restores from the snapshots of one or several former subtasks, keeping
   * only the key groups in this subtask's range (so the parallelism may differ).
   */
  restore(snapshots: readonly OperatorSnapshot[]): void {
    const { start, end } = this.options.keyGroupRange;
    for (const snapshot of snapshots) {
      const keyed = snapshot.keyed;
      if (!keyed) continue;
      for (const kgText of Object.keys(keyed)) {
        const kg = Number(kgText);
        if (kg < start || kg > end) continue;
        const group = decodeKeyGroup(keyed[kg]);
        if (!group) continue;
        for (const name of Object.keys(group)) {
          const entries = group[name];
          if (!entries) continue;
          const part = this.parts.get(name);
          if (part) {
            for (const [key, data] of entries) part.restoreKey(key, data);
          } else {
            let list = this.pending.get(name);
            if (!list) this.pending.set(name, (list = []));
            for (const entry of entries) list.push(entry);
          }
        }
      }
    }
  }
}
