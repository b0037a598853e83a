/**
 * The keyed timer service: event-time and processing-time timers per key and
 * namespace, deduplicated (one timer per key + namespace + time), kept in
 * priority queues of per-time buckets (timers of one time fire in
 * registration order). Event-time timers fire when the watermark passes them;
 * processing-time timers through the task's {@link ProcessingTimeService}.
 * The dedup index is one flat hash map (see `TimerQueue`), so timers of keys
 * that come and go allocate no per-key maps.
 * Timers are keyed state: they are snapshotted per key group with the rest.
 */
import type { Key } from '@freshet/api';
import { MIN_WATERMARK, type ProcessingTimeService } from '../operator.js';
import type { HeapKeyedStateBackend, KeyedStatePart } from '../state/backend.js';
import { TimerHeap, type Timer } from './heap.js';

export type { Timer } from './heap.js';

/** Receives fired timers; the backend's current key is set to the timer's key before the call. */
export interface TimerTarget {
  /** An event-time timer fired (the watermark reached `timer.time`). */
  onEventTime(timer: Timer): void;
  /** A processing-time timer fired. */
  onProcessingTime(timer: Timer): void;
}

/** A timer as the queue keeps it: chained in its hash bucket of the dedup index. */
class IndexedTimer implements Timer {
  deleted = false;
  constructor(
    readonly key: Key,
    readonly ns: number,
    readonly time: number,
    /** Bucket of the dedup index. */
    readonly hash: number,
    /** Next timer of the same bucket. */
    public next: IndexedTimer | undefined,
  ) {}
}

/**
 * The timers due at one time, in registration order. The queue orders these
 * buckets, not single timers: aligned windows put many keys' timers on one
 * time, so firing them is a walk over an array instead of a heap pop each.
 */
class TimeBucket {
  /** Buckets are never deleted lazily (the heap's contract). */
  readonly deleted = false;
  /** Index of the next timer to fire. */
  pos = 0;
  /** Set once the bucket left the queue. */
  drained = false;
  readonly timers: IndexedTimer[] = [];
  constructor(readonly time: number) {}
}

/** Map keys compare with SameValueZero; so does the index (NaN equals NaN). */
function same(a: Key, b: Key): boolean {
  return a === b || (a !== a && b !== b);
}

/** A 32-bit hash of a number, without allocating: int32 values hash to themselves, others mix in their high word. */
function hashNumber(x: number): number {
  const lo = x | 0;
  return lo === x ? lo : lo ^ ((x / 4294967296) | 0) ^ 0x5bd1e995;
}

function hashKey(key: Key): number {
  if (typeof key === 'number') return hashNumber(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Bucket of (key, ns, time): kept to 30 bits so it stays a small integer
 * (no boxed number per lookup).
 */
function hashTimer(key: Key, ns: number, time: number): number {
  let h = Math.imul(hashKey(key), 0xcc9e2d51);
  h = Math.imul(h ^ hashNumber(ns), 0x1b873593);
  h = Math.imul(h ^ hashNumber(time), 0x85ebca6b);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * One queue of timers (event time or processing time) with its dedup index.
 * The index is one flat hash map from a hash of (key, ns, time) to a chain
 * of timers: registering or removing a timer is one map operation, and no
 * per-key or per-namespace maps come and go with the keys. Timers of one time
 * share a {@link TimeBucket}; ties fire in registration order.
 */
class TimerQueue implements KeyedStatePart {
  private readonly times = new TimerHeap<TimeBucket>();
  private readonly buckets = new Map<number, TimeBucket>();
  /** The bucket used last: registrations come in runs of one time. */
  private lastBucket: TimeBucket | undefined;
  private readonly index = new Map<number, IndexedTimer>();
  private live = 0;
  constructor(private readonly onAdded: ((time: number) => void) | undefined) {}

  add(key: Key, ns: number, time: number): void {
    const hash = hashTimer(key, ns, time);
    const head = this.index.get(hash);
    for (let t = head; t !== undefined; t = t.next) {
      if (same(t.time, time) && same(t.ns, ns) && same(t.key, key)) return;
    }
    const timer = new IndexedTimer(key, ns, time, hash, head);
    this.index.set(hash, timer);
    this.live++;
    this.bucketOf(time).timers.push(timer);
    this.onAdded?.(time);
  }

  private bucketOf(time: number): TimeBucket {
    const last = this.lastBucket;
    if (last !== undefined && last.time === time && !last.drained) return last;
    let bucket = this.buckets.get(time);
    if (bucket === undefined) {
      bucket = new TimeBucket(time);
      this.buckets.set(time, bucket);
      this.times.push(bucket);
    }
    this.lastBucket = bucket;
    return bucket;
  }

  /** The earliest bucket that still holds a live timer (drained buckets leave the queue). */
  private head(): TimeBucket | undefined {
    for (;;) {
      const bucket = this.times.peek();
      if (bucket === undefined) return undefined;
      const timers = bucket.timers;
      while (bucket.pos < timers.length && timers[bucket.pos]!.deleted) bucket.pos++;
      if (bucket.pos < timers.length) return bucket;
      this.times.pop();
      this.buckets.delete(bucket.time);
      bucket.drained = true;
    }
  }

  delete(key: Key, ns: number, time: number): void {
    for (let t = this.index.get(hashTimer(key, ns, time)); t !== undefined; t = t.next) {
      if (same(t.time, time) && same(t.ns, ns) && same(t.key, key)) {
        t.deleted = true;
        this.unindex(t);
        return;
      }
    }
  }

  /** Removes a timer from the index (it fired or was deleted). */
  private unindex(timer: IndexedTimer): void {
    const head = this.index.get(timer.hash);
    if (head === timer) {
      if (timer.next === undefined) this.index.delete(timer.hash);
      else this.index.set(timer.hash, timer.next);
    } else {
      let prev = head;
      while (prev !== undefined && prev.next !== timer) prev = prev.next;
      if (prev === undefined) return;
      prev.next = timer.next;
    }
    timer.next = undefined;
    this.live--;
  }

  /** Pops the earliest live timer with `time <= upTo`, or undefined. */
  pollDue(upTo: number): Timer | undefined {
    const bucket = this.head();
    if (bucket === undefined || bucket.time > upTo) return undefined;
    const timer = bucket.timers[bucket.pos++]!;
    this.unindex(timer);
    return timer;
  }

  /** Time of the earliest live timer, if any. */
  peekTime(): number | undefined {
    return this.head()?.time;
  }

  /** Number of live timers. */
  count(): number {
    return this.live;
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    const byKey = new Map<Key, number[]>();
    for (const head of this.index.values()) {
      for (let t: IndexedTimer | undefined = head; t !== undefined; t = t.next) {
        let flat = byKey.get(t.key);
        if (!flat) byKey.set(t.key, (flat = []));
        flat.push(t.ns, t.time);
      }
    }
    for (const [key, flat] of byKey) emit(key, flat);
  }

  /** The snapshot's arrays are fresh ones of numbers: nothing changes them later. */
  guardSnapshot(): boolean {
    return true;
  }

  restoreKey(key: Key, data: unknown): void {
    const flat = data as number[];
    for (let i = 0; i + 1 < flat.length; i += 2) this.add(key, flat[i]!, flat[i + 1]!);
  }
}

/** Options of an {@link InternalTimerService}. */
export interface TimerServiceOptions {
  /**
   * Whether the timers are part of the operator's snapshots. An operator
   * that can derive every timer from its other state (the window operator
   * with a built-in trigger: each window's cleanup timer) says false and
   * registers them again after a restore, which keeps checkpoints smaller.
   * @default true
   */
  snapshot?: boolean;
}

/** A state part that takes no part in snapshots (timers an operator derives on restore). */
const DERIVED_PART: KeyedStatePart = {
  snapshotKeys: () => undefined,
  restoreKey: () => undefined,
  guardSnapshot: () => true,
};

/** Event-time and processing-time timers of one keyed operator. */
export class InternalTimerService {
  /** The last watermark passed to {@link advanceWatermark}. */
  currentWatermark = MIN_WATERMARK;
  private readonly eventTimers: TimerQueue;
  private readonly processingTimers: TimerQueue;
  private scheduledAt = Number.POSITIVE_INFINITY;
  private cancelScheduled: (() => void) | undefined;
  private readonly onProcessingTimeBound: (time: number) => void;
  private firingProcessingTime = false;
  private closed = false;

  constructor(
    private readonly backend: HeapKeyedStateBackend,
    private readonly processingTime: ProcessingTimeService,
    private readonly target: TimerTarget,
    /** Prefix of the state part names, so an operator may own several services. */
    name = 'timers',
    options: TimerServiceOptions = {},
  ) {
    this.eventTimers = new TimerQueue(undefined);
    this.processingTimers = new TimerQueue((time) => {
      this.ensureScheduled(time);
    });
    this.onProcessingTimeBound = (time) => {
      this.onProcessingTime(time);
    };
    const snapshot = options.snapshot ?? true;
    backend.registerPart(`${name}:event`, snapshot ? this.eventTimers : DERIVED_PART);
    backend.registerPart(`${name}:proc`, snapshot ? this.processingTimers : DERIVED_PART);
  }

  /** Current processing time. */
  currentProcessingTime(): number {
    return this.processingTime.now();
  }

  /** Registers an event-time timer for the current key. */
  registerEventTimeTimer(ns: number, time: number): void {
    this.eventTimers.add(this.backend.getCurrentKey(), ns, time);
  }
  /** Deletes an event-time timer of the current key. */
  deleteEventTimeTimer(ns: number, time: number): void {
    this.eventTimers.delete(this.backend.getCurrentKey(), ns, time);
  }
  /** Registers a processing-time timer for the current key. */
  registerProcessingTimeTimer(ns: number, time: number): void {
    this.processingTimers.add(this.backend.getCurrentKey(), ns, time);
  }
  /** Deletes a processing-time timer of the current key. */
  deleteProcessingTimeTimer(ns: number, time: number): void {
    this.processingTimers.delete(this.backend.getCurrentKey(), ns, time);
  }

  /** Number of live event-time timers (for tests and metrics). */
  numEventTimeTimers(): number {
    return this.eventTimers.count();
  }
  /** Number of live processing-time timers (for tests and metrics). */
  numProcessingTimeTimers(): number {
    return this.processingTimers.count();
  }

  /** Fires every event-time timer with `time <= watermark`, in time order. */
  advanceWatermark(watermark: number): void {
    this.currentWatermark = watermark;
    const queue = this.eventTimers;
    for (let timer = queue.pollDue(watermark); timer; timer = queue.pollDue(watermark)) {
      this.backend.setCurrentKey(timer.key);
      this.target.onEventTime(timer);
    }
  }

  /** Fires every processing-time timer with `time <= upTo` (used at end of input by windows). */
  fireProcessingTimersUpTo(upTo: number): void {
    const queue = this.processingTimers;
    this.firingProcessingTime = true;
    try {
      for (let timer = queue.pollDue(upTo); timer; timer = queue.pollDue(upTo)) {
        this.backend.setCurrentKey(timer.key);
        this.target.onProcessingTime(timer);
      }
    } finally {
      this.firingProcessingTime = false;
    }
    this.reschedule();
  }

  /** Stops scheduling processing-time callbacks. */
  close(): void {
    this.closed = true;
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
  }

  private onProcessingTime(time: number): void {
    this.scheduledAt = Number.POSITIVE_INFINITY;
    this.cancelScheduled = undefined;
    if (this.closed) return;
    this.fireProcessingTimersUpTo(Math.max(time, this.processingTime.now()));
  }

  private ensureScheduled(time: number): void {
    if (this.closed || this.firingProcessingTime || time >= this.scheduledAt) return;
    this.cancelScheduled?.();
    this.scheduledAt = time;
    this.cancelScheduled = this.processingTime.schedule(time, this.onProcessingTimeBound);
  }

  private reschedule(): void {
    const time = this.processingTimers.peekTime();
    if (time !== undefined) this.ensureScheduled(time);
  }
}
