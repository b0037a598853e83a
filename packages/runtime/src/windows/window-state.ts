/**
 * Per-window state for `ProcessWindowContext.windowState()` (Flink's
 * per-window KeyedStateStore): the state of one key and one window lives
 * with that window's contents, so it goes into snapshots with them (under
 * the key's key group) and disappears when the window is cleaned up.
 *
 * Each window holds heap states of its own, scoped to a single constant
 * key: the heap state implementations (and their TTL) are reused as they
 * are.
 */
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  KeyedStateStore,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from '@freshet/api';
import { OperatorUsageError } from '../operators/errors.js';
import {
  HeapAggregatingState,
  HeapListState,
  HeapMapState,
  HeapReducingState,
  HeapValueState,
  type HeapState,
  type StateScope,
} from '../state/states.js';

/** The one key of a window's own states. */
const WINDOW_KEY = 0;

/** Snapshot data of a window's states: `[name, data]` pairs. */
export type WindowStateSnapshot = [string, unknown][];

/** The states of one key and window. */
export class WindowUserState {
  private readonly states = new Map<string, HeapState>();
  /** Restored data of states not asked for again yet. */
  private readonly pending = new Map<string, unknown>();

  /** The state named `name`, created with `create` on first use (restored data goes into it then). */
  state(name: string, kind: HeapState['kind'], create: () => HeapState, operatorName: string): HeapState {
    const existing = this.states.get(name);
    if (existing) {
      if (existing.kind !== kind) {
        throw new OperatorUsageError(
          `Operator '${operatorName}': window state '${name}' is a ${existing.kind} state, requested as ${kind} state`,
        );
      }
      return existing;
    }
    const created = create();
    this.states.set(name, created);
    if (this.pending.has(name)) {
      created.restoreKey(WINDOW_KEY, this.pending.get(name));
      this.pending.delete(name);
    }
    return created;
  }

  /** Plain data of every state (and of restored ones not used since). */
  snapshot(): WindowStateSnapshot {
    const out: WindowStateSnapshot = [];
    for (const [name, state] of this.states) {
      state.snapshotKeys((_key, data) => {
        out.push([name, data]);
      });
    }
    for (const [name, data] of this.pending) out.push([name, data]);
    return out;
  }

  /** Restores what {@link snapshot} wrote. */
  static restore(data: WindowStateSnapshot): WindowUserState {
    const s = new WindowUserState();
    for (const [name, value] of data) s.pending.set(name, value);
    return s;
  }
}

/**
 * The `windowState()` store of a window operator: one object, reading the
 * window being handled from `current()` at every call.
 */
export class WindowStateStore implements KeyedStateStore {
  private readonly scope: StateScope;
  constructor(
    /** The window's state holder, created when missing; throws where per-window state is not allowed. */
    private readonly current: () => WindowUserState,
    now: () => number,
    private readonly operatorName: string,
  ) {
    this.scope = { getCurrentKey: () => WINDOW_KEY, now };
  }
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.current().state(
      descriptor.name,
      'value',
      () => new HeapValueState<T>(this.scope, descriptor),
      this.operatorName,
    ) as unknown as ValueState<T>;
  }
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.current().state(
      descriptor.name,
      'list',
      () => new HeapListState<T>(this.scope, descriptor),
      this.operatorName,
    ) as unknown as ListState<T>;
  }
  getMapState<K extends string | number, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.current().state(
      descriptor.name,
      'map',
      () => new HeapMapState<K, V>(this.scope, descriptor),
      this.operatorName,
    ) as unknown as MapState<K, V>;
  }
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.current().state(
      descriptor.name,
      'reducing',
      () => new HeapReducingState<T>(this.scope, descriptor),
      this.operatorName,
    ) as unknown as ReducingState<T>;
  }
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.current().state(
      descriptor.name,
      'aggregating',
      () => new HeapAggregatingState<IN, ACC, OUT>(this.scope, descriptor),
      this.operatorName,
    ) as unknown as AggregatingState<IN, OUT>;
  }
}
