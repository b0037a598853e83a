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
}

/** Snapshot data of one key group: part name -> `[key, data]` pairs (what readers get, {@link decodeKeyGroup}). */
export type KeyGroupSnapshot = Record<string, [Key, unknown][]>;

/**
 * One part's entries of a key group as two columns, `keys[i]` holding
 * `values[i]`: how the heap backend writes its snapshots. msgpack packs two
 * arrays of n items about twice as fast as n two-item arrays, and the
 * split allocates no pair per entry, so the synchronous part of a heap
 * checkpoint takes about half as long. Readers see pairs
 * ({@link decodeKeyGroup} converts).
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
export type KeyedGroupData = HeapKeyGroup | Uint8Array | [Uint8Array, HeapKeyGroup] | KeyGroupPieceRef;

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
   * The disk backend's incremental checkpoints: per key group, the id of
   * the last completed checkpoint whose piece holds its data (absent:
   * written by none yet, e.g. after a restore, so the next snapshot writes it).
   */
  private readonly pieceBase = new Map<number, number>();
  /** Key groups each snapshot not yet completed or aborted wrote (with data, and found empty). */
  private readonly pendingPieces = new Map<number, { written: number[]; empty: number[] }>();

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
   * completed checkpoint that wrote it is a {@link KeyGroupPieceRef} to
   * that checkpoint's piece instead of its data. `full` writes every key
   * group (a final state, which no later checkpoint of the task follows).
   */
  snapshot(checkpointId = 0, full = false): Record<number, KeyedGroupData> {
    const heapGroups = this.snapshotHeapParts();
    const store = this.store;
    if (store === undefined) return heapGroups;
    const changed = store.takeChanged();
    // Written by a checkpoint not yet completed: it may still be aborted, so it is written again.
    for (const pending of this.pendingPieces.values()) for (const kg of pending.written) changed[kg] = 1;
    const written: number[] = [];
    const empty: number[] = [];
    const out: Record<number, KeyedGroupData> = {};
    const { start, end } = this.options.keyGroupRange;
    for (let kg = start; kg <= end; kg++) {
      const heapGroup = heapGroups[kg];
      const base = full ? undefined : this.pieceBase.get(kg);
      if (base !== undefined && changed[kg] === 0) {
        // Unchanged on disk since the piece of checkpoint `base`; heap-held parts (timers) ride along as data.
        out[kg] = heapGroup === undefined ? base : [base, heapGroup];
        continue;
      }
      const group: KeyGroupSnapshot = {};
      let onDisk = false;
      for (const [name, map] of this.diskMaps) {
        const entries: [Key, unknown][] = [];
        map.snapshotGroup(kg, entries);
        if (entries.length > 0) {
          group[name] = entries;
          onDisk = true;
        }
      }
      if (onDisk) {
        written.push(kg);
        // Heap-held parts apart from the piece's disk data: a later reference to the piece replaces them.
        out[kg] = heapGroup === undefined ? encodeKeyGroup(group) : [encodeKeyGroup(group), heapGroup];
      } else {
        empty.push(kg);
        if (heapGroup !== undefined) out[kg] = heapGroup;
      }
    }
    this.pendingPieces.set(checkpointId, { written, empty });
    // Heap-held state of keys outside the range (a test driving any key) is kept as it is.
    for (const kgText in heapGroups) {
      const kg = Number(kgText);
      if (kg < start || kg > end) out[kg] = heapGroups[kg]!;
    }
    return out;
  }

  /**
   * Checkpoint `checkpointId` completed: the key groups its snapshot wrote
   * are now held by its piece, the base of later incremental snapshots.
   * Its snapshot also wrote whatever earlier pending ones wrote (it wrote
   * again what they had not confirmed), so those are settled with it.
   */
  notifyCheckpointComplete(checkpointId: number): void {
    const pieces = this.pendingPieces.get(checkpointId);
    if (pieces !== undefined) {
      for (const kg of pieces.written) this.pieceBase.set(kg, checkpointId);
      for (const kg of pieces.empty) this.pieceBase.delete(kg);
    }
    for (const id of this.pendingPieces.keys()) if (id <= checkpointId) this.pendingPieces.delete(id);
  }

  /**
   * Checkpoint `checkpointId` was aborted. Its pieces will never be
   * referenced, and it may have been aborted because a piece it referred to
   * is gone (the coordinator declines such a snapshot), so the next
   * snapshot writes every key group again (an abort is rare; a full
   * snapshot after one is always resolvable).
   */
  notifyCheckpointAborted(checkpointId: number): void {
    if (!this.pendingPieces.delete(checkpointId)) return;
    this.pieceBase.clear();
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
