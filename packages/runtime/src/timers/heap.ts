/** A binary min-heap of timers ordered by time (ties in insertion order are not guaranteed). */
import type { Key } from '@freshet/api';

/** One registered timer: fires for `key` at `time`; `ns` tells the owner what it is for (e.g. the window). */
export interface Timer {
  /** Key the timer belongs to. */
  readonly key: Key;
  /** Namespace: 0 for plain timers, the window start for window timers, a side for joins. */
  readonly ns: number;
  /** Time at which the timer fires (event time or processing time). */
  readonly time: number;
  /** Set when deleted; the heap drops it lazily. */
  deleted: boolean;
}

/** What the heap orders: anything with a time that may be deleted lazily. */
export interface HeapItem {
  /** The ordering key. */
  readonly time: number;
  /** Set when deleted; the heap drops it lazily. */
  readonly deleted: boolean;
}

/** Min-heap of {@link Timer}s (or other {@link HeapItem}s) by `time`. */
export class TimerHeap<T extends HeapItem = Timer> {
  private readonly items: T[] = [];

  /** Number of timers (including lazily deleted ones). */
  get size(): number {
    return this.items.length;
  }

  /** Adds a timer. */
  push(timer: T): void {
    const a = this.items;
    a.push(timer);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (p.time <= timer.time) break;
      a[i] = p;
      i = parent;
    }
    a[i] = timer;
  }

  /** The earliest timer that is not deleted, without removing it. */
  peek(): T | undefined {
    const a = this.items;
    while (a.length > 0 && a[0]!.deleted) this.pop();
    return a[0];
  }

  /** Removes and returns the earliest timer (may be a deleted one). */
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.time < a[l]!.time ? r : l;
      const child = a[c]!;
      if (child.time >= last.time) break;
      a[i] = child;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
