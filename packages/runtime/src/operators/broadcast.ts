/**
 * broadcastProcess / keyedBroadcastProcess: input 0 is the (keyed or not)
 * main stream, input 1 the broadcast stream. Broadcast state is operator
 * state: a map per descriptor, identical on every subtask, snapshotted in
 * `OperatorSnapshot.operator` and restored from any one former subtask's copy
 * (so the parallelism may change).
 */
import type { BroadcastState, Collector, Key, ReadOnlyBroadcastState } from '@freshet/api';
import type { OperatorSnapshot } from '../operator.js';
import { AbstractOperator, ProcessContextImpl, TimestampedCollector, type KeyFn } from './base.js';
import { OperatorUsageError } from './errors.js';

type ProcessFn = (value: unknown, ctx: unknown, out: Collector<unknown>) => void;

/** Snapshot format of broadcast state. */
interface BroadcastSnapshot {
  broadcast: Record<string, [Key, unknown][]>;
}

/** Writable broadcast state (the broadcast side). */
class HeapBroadcastState implements BroadcastState<Key, unknown> {
  readonly map = new Map<Key, unknown>();
  /** The read-only view handed to the main side. */
  readonly readOnly: ReadOnlyBroadcastState<Key, unknown>;
  constructor() {
    const map = this.map;
    this.readOnly = {
      get: (key) => map.get(key),
      contains: (key) => map.has(key),
      entries: () => map.entries(),
    };
  }
  get(key: Key): unknown {
    return this.map.get(key);
  }
  contains(key: Key): boolean {
    return this.map.has(key);
  }
  entries(): IterableIterator<[Key, unknown]> {
    return this.map.entries();
  }
  put(key: Key, value: unknown): void {
    this.map.set(key, value);
  }
  remove(key: Key): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
}

/** Broadcast connection operator, keyed or not on the main side. */
export class BroadcastProcessOperator extends AbstractOperator {
  private processFn!: ProcessFn;
  private broadcastFn!: ProcessFn;
  private key: KeyFn | undefined;
  private mainCtx!: ProcessContextImpl;
  private broadcastCtx!: ProcessContextImpl;
  private collector!: TimestampedCollector;
  private readonly states = new Map<string, HeapBroadcastState>();

  protected setup(): void {
    const fn = this.node.fns.fn;
    this.processFn = this.userFunction(fn, 'processElement');
    this.broadcastFn = this.userFunction(fn, 'processBroadcastElement');
    this.collector = new TimestampedCollector(this.output);
    for (const name of this.declaredStateNames()) this.states.set(name, new HeapBroadcastState());
    if (this.node.keyed) this.key = this.keySelector(0);
    this.mainCtx = this.createProcessContext(this.node.keyed, fn, this.collector);
    this.mainCtx.broadcast = (name) => this.state(name).readOnly;
    this.broadcastCtx = new ProcessContextImpl(
      this.output,
      this.nonKeyedTimerService(),
      undefined,
      this.name,
    );
    this.broadcastCtx.broadcast = (name) => this.state(name);
  }

  private declaredStateNames(): string[] {
    const names = new Set<string>(this.node.spec.broadcastStates ?? []);
    for (const d of this.node.fns.broadcastStates ?? []) {
      const name = (d as { name?: unknown }).name;
      if (typeof name === 'string') names.add(name);
    }
    return [...names];
  }

  private state(name: string): HeapBroadcastState {
    const state = this.states.get(name);
    if (!state) {
      throw new OperatorUsageError(
        `Operator '${this.name}': broadcast state '${name}' was not declared; pass its MapStateDescriptor to broadcast(...)`,
      );
    }
    return state;
  }

  processElement(value: unknown, timestamp: number): void {
    this.mainCtx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      if (this.key) this.backend!.setCurrentKey(this.key(value));
      this.processFn(value, this.mainCtx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement');
    }
  }

  processElement2(value: unknown, timestamp: number): void {
    this.broadcastCtx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      this.broadcastFn(value, this.broadcastCtx, this.collector);
    } catch (error) {
      this.fail(error, 'processBroadcastElement');
    }
  }

  protected override snapshotOperatorState(): unknown {
    const broadcast: Record<string, [Key, unknown][]> = {};
    for (const [name, state] of this.states) broadcast[name] = [...state.map];
    return { broadcast } satisfies BroadcastSnapshot;
  }

  protected override restoreOperatorState(restored: readonly OperatorSnapshot[]): void {
    // Every subtask holds the same broadcast state: any one copy will do.
    for (const snapshot of restored) {
      const data = (snapshot.operator as Partial<BroadcastSnapshot> | undefined)?.broadcast;
      if (!data) continue;
      for (const [name, entries] of Object.entries(data)) {
        let state = this.states.get(name);
        if (!state) this.states.set(name, (state = new HeapBroadcastState()));
        for (const [k, v] of entries) state.map.set(k, v);
      }
      return;
    }
  }
}
