/**
 * The keyed timer service: event-time and processing-time timers per key and
 * namespace, deduplicated (one timer per key + namespace + time), kept in
 * priority queues. Event-time timers fire when the watermark passes them;
 * processing-time timers through the task's {@link ProcessingTimeService}.
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

/** key -> ns -> time -> timer */
type TimerIndex = Map<Key, Map<number, Map<number, Timer>>>;

/** One queue of timers (event time or processing time) with its dedup index. */
class TimerQueue implements KeyedStatePart {
  readonly heap = new TimerHeap();
  readonly index: TimerIndex = new Map();
  constructor(private readonly onAdded: (time: number) => void) {}

  add(key: Key, ns: number, time: number): void {
    let byNs = this.index.get(key);
    if (!byNs) this.index.set(key, (byNs = new Map<number, Map<number, Timer>>()));
    let byTime = byNs.get(ns);
    if (!byTime) byNs.set(ns, (byTime = new Map<number, Timer>()));
    if (byTime.has(time)) return;
    const timer: Timer = { key, ns, time, deleted: false };
    byTime.set(time, timer);
    this.heap.push(timer);
    this.onAdded(time);
  }

  delete(key: Key, ns: number, time: number): void {
    const byNs = this.index.get(key);
    const byTime = byNs?.get(ns);
    const timer = byTime?.get(time);
    if (!timer) return;
    timer.deleted = true;
    this.unindex(timer);
  }

  /** Removes a timer from the index (it fired or was deleted). */
  unindex(timer: Timer): void {
    const byNs = this.index.get(timer.key);
    if (!byNs) return;
    const byTime = byNs.get(timer.ns);
    if (!byTime) return;
    byTime.delete(timer.time);
    if (byTime.size === 0) {
      byNs.delete(timer.ns);
      if (byNs.size === 0) this.index.delete(timer.key);
    }
  }

  /** Pops the earliest live timer with `time <= upTo`, or undefined. */
  pollDue(upTo: number): Timer | undefined {
    const head = this.heap.peek();
    if (!head || head.time > upTo) return undefined;
    this.heap.pop();
    this.unindex(head);
    return head;
  }

  /** Number of live timers. */
  count(): number {
    let n = 0;
    for (const byNs of this.index.values()) for (const byTime of byNs.values()) n += byTime.size;
    return n;
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [key, byNs] of this.index) {
      const flat: number[] = [];
      for (const [ns, byTime] of byNs) for (const time of byTime.keys()) flat.push(ns, time);
      if (flat.length > 0) emit(key, flat);
    }
  }

  restoreKey(key: Key, data: unknown): void {
    const flat = data as number[];
    for (let i = 0; i + 1 < flat.length; i += 2) this.add(key, flat[i]!, flat[i + 1]!);
  }
}

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
  ) {
    this.eventTimers = new TimerQueue(() => undefined);
    this.processingTimers = new TimerQueue((time) => {
      this.ensureScheduled(time);
    });
    this.onProcessingTimeBound = (time) => {
      this.onProcessingTime(time);
    };
    backend.registerPart(`${name}:event`, this.eventTimers);
    backend.registerPart(`${name}:proc`, this.processingTimers);
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
    const head = this.processingTimers.heap.peek();
    if (head) this.ensureScheduled(head.time);
  }
}
