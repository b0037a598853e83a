/**
 * Window-major storage for aligned event-time windows (tumbling and sliding)
 * whose trigger is the assigner's default and that allow no lateness: every
 * key's window `[start, end)` fires once, when the watermark reaches
 * `end - 1`, and is gone right after. Such windows need no per-key timers and
 * no per-key window maps: one {@link AlignedWindow} per window start holds
 * every key's contents in a `Map` in first-arrival order, which is the order
 * in which the per-key cleanup timers of the general path fire (timers of
 * one time fire in registration order, and a key's timer for a window is
 * registered by its first element in it). A window fires by walking that map.
 *
 * Snapshots keep the general path's layout (per key, six slots per window:
 * start, end, 1, contents, null, null), so either storage restores the
 * other's checkpoints and savepoints.
 */
import type { Key, TimeWindow } from '@freshet/api';
import type { KeyedStatePart } from '../state/backend.js';
import { TimerHeap } from '../timers/heap.js';

/** One aligned window: the contents of every key that has elements in it. */
export interface AlignedWindow {
  /** When it fires: `window.end - 1` (the heap's ordering key). */
  readonly time: number;
  /** Never deleted lazily (the heap's contract). */
  readonly deleted: false;
  /** The window (shared by all keys). */
  readonly window: TimeWindow;
  /** Key -> reduced value, accumulator, element list or join buffers, in first-arrival order. */
  readonly contents: Map<Key, unknown>;
}

/** The aligned windows of one operator, by start and in firing order. Takes part in snapshots. */
export class AlignedWindowTable implements KeyedStatePart {
  /** Open windows by start. */
  readonly byStart = new Map<number, AlignedWindow>();
  private readonly queue = new TimerHeap<AlignedWindow>();

  constructor(
    /** Copies contents for a snapshot (element lists and join buffers keep growing afterwards). */
    private readonly copy: (contents: unknown) => unknown,
    /** The operator's shared window object of `[start, end)`. */
    private readonly windowOf: (start: number, end: number) => TimeWindow,
  ) {}

  /** Opens the window `window` (its start not open yet). */
  open(window: TimeWindow): AlignedWindow {
    const w: AlignedWindow = { time: window.end - 1, deleted: false, window, contents: new Map() };
    this.byStart.set(window.start, w);
    this.queue.push(w);
    return w;
  }

  /** Removes and returns the earliest window due at `watermark`, or undefined. */
  pollDue(watermark: number): AlignedWindow | undefined {
    const w = this.queue.peek();
    if (w === undefined || w.time > watermark) return undefined;
    this.queue.pop();
    this.byStart.delete(w.window.start);
    return w;
  }

  /** Number of distinct keys with an open window. */
  numKeys(): number {
    if (this.byStart.size === 1) for (const w of this.byStart.values()) return w.contents.size;
    const keys = new Set<Key>();
    for (const w of this.byStart.values()) for (const key of w.contents.keys()) keys.add(key);
    return keys.size;
  }

  /** Number of (key, window) pairs waiting to fire. */
  numPending(): number {
    let n = 0;
    for (const w of this.byStart.values()) n += w.contents.size;
    return n;
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    const byKey = new Map<Key, unknown[]>();
    for (const w of this.byStart.values()) {
      const { start, end } = w.window;
      for (const [key, contents] of w.contents) {
        let flat = byKey.get(key);
        if (flat === undefined) byKey.set(key, (flat = []));
        flat.push(start, end, 1, this.copy(contents), null, null);
      }
    }
    for (const [key, flat] of byKey) emit(key, flat);
  }

  restoreKey(key: Key, data: unknown): void {
    const flat = data as unknown[];
    for (let i = 0; i + 5 < flat.length; i += 6) {
      // A window without contents (purged) fires nothing; the inline trigger and a window that fires
      // once keep neither trigger state nor window state between elements, so slots 4 and 5 are null.
      if (flat[i + 2] !== 1) continue;
      const start = flat[i] as number;
      const w = this.byStart.get(start) ?? this.open(this.windowOf(start, flat[i + 1] as number));
      w.contents.set(key, flat[i + 3]);
    }
  }
}
