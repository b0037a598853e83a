/**
 * Storage for aligned event-time windows (tumbling and sliding) whose
 * trigger is the assigner's default and that allow no lateness: every key's
 * window `[start, end)` fires once, when the watermark reaches `end - 1`, and
 * is gone right after. Such windows need no per-key timers and no per-key
 * `Map` of windows:
 *
 * - per key one {@link KeyWindows}: the starts and contents of its open
 *   windows in two small arrays (a key has about size / slide open windows,
 *   so finding one is a short scan, and an element costs one `Map` lookup
 *   however many windows it falls into);
 * - per window start one {@link AlignedWindow}: the keys with contents in
 *   it, in first-arrival order, which is the order in which the per-key
 *   cleanup timers of the general path fire (timers of one time fire in
 *   registration order, and a key's timer for a window is registered by its
 *   first element in it). A window fires by walking that list.
 *
 * Snapshots keep the general path's layout (per key, six slots per window:
 * start, end, 1, contents, null, null), so either storage restores the
 * other's checkpoints and savepoints.
 *
 * Sliding windows keep one accumulator per window, not per slide-sized pane:
 * panes (one update per element, the window's panes merged when it fires)
 * were measured slower on Nexmark q5 (0.82 of this path's events per
 * CPU-second, interleaved runs; the commit "Windows: pane-based sliding
 * windows" and its revert hold the code). With about 7 bids per auction and
 * pane against 5 windows per bid, the merges at firing (size / slide per key
 * and window) cost what the saved per-element updates did. Panes pay off only
 * when a key has many more elements per pane than size / slide.
 */
import type { Key, TimeWindow } from '@freshet/api';
import type { KeyedStatePart } from '../state/backend.js';
import { TimerHeap } from '../timers/heap.js';

/**
 * Calls `fn` for each window with contents in one key's snapshot data (the
 * general path's layout, six slots per window: start, end, has contents,
 * contents, trigger state, window state). A window without contents (purged)
 * fires nothing; the inline trigger and a window that fires once keep
 * neither trigger state nor window state between elements, so slots 4 and 5
 * are null and there is nothing else to restore.
 */
function forEachSnapshotWindow(
  data: unknown,
  fn: (start: number, end: number, contents: unknown) => void,
): void {
  const flat = data as unknown[];
  for (let i = 0; i + 5 < flat.length; i += 6) {
    if (flat[i + 2] === 1) fn(flat[i] as number, flat[i + 1] as number, flat[i + 3]);
  }
}

/** The open windows of one key: `starts[i]` holds `contents[i]` (reduced value, accumulator, element list, join buffers). */
export class KeyWindows {
  readonly starts: number[] = [];
  readonly contents: unknown[] = [];
  constructor(
    /** The key (set again when the object is reused for another key). */
    public key: Key,
  ) {}

  /** Position of the window starting at `start`, or -1. */
  indexOf(start: number): number {
    const starts = this.starts;
    for (let i = 0; i < starts.length; i++) if (starts[i] === start) return i;
    return -1;
  }

  /** Removes the window at position `i` (order of the rest does not matter). */
  removeAt(i: number): void {
    const last = this.starts.length - 1;
    this.starts[i] = this.starts[last]!;
    this.contents[i] = this.contents[last];
    this.starts.pop();
    this.contents.pop();
  }
}

/** One aligned window: the keys that have contents in it. */
export interface AlignedWindow {
  /** When it fires: `window.end - 1` (the heap's ordering key). */
  readonly time: number;
  /** Never deleted lazily (the heap's contract). */
  readonly deleted: false;
  /** The window (shared by all keys). */
  readonly window: TimeWindow;
  /** The keys with contents in this window, in first-arrival order. */
  readonly keys: KeyWindows[];
}

/** The aligned windows of one operator, by key, by start and in firing order. Takes part in snapshots. */
export class AlignedWindowTable implements KeyedStatePart {
  /** Keys with an open window. */
  readonly byKey = new Map<Key, KeyWindows>();
  /** Open windows by start. */
  readonly byStart = new Map<number, AlignedWindow>();
  private readonly queue = new TimerHeap<AlignedWindow>();
  /**
   * Emptied {@link KeyWindows} for reuse: keys come and go with the windows,
   * and reusing their objects and arrays keeps the garbage collector out of
   * the hot path. Bounded by the most keys ever open at once.
   */
  private readonly free: KeyWindows[] = [];

  constructor(
    /** Copies contents for a snapshot (element lists and join buffers keep growing afterwards). */
    private readonly copy: (contents: unknown) => unknown,
    /** The operator's shared window object of `[start, end)`. */
    private readonly windowOf: (start: number, end: number) => TimeWindow,
  ) {}

  /** The open windows of `key`, created empty when it has none. */
  keyWindows(key: Key): KeyWindows {
    let kw = this.byKey.get(key);
    if (kw === undefined) {
      kw = this.free.pop();
      if (kw === undefined) kw = new KeyWindows(key);
      else kw.key = key;
      this.byKey.set(key, kw);
    }
    return kw;
  }

  /** Opens the window `window` (its start not open yet). */
  open(window: TimeWindow): AlignedWindow {
    const w: AlignedWindow = { time: window.end - 1, deleted: false, window, keys: [] };
    this.byStart.set(window.start, w);
    this.queue.push(w);
    return w;
  }

  /** Adds `contents` for a key that has none in `w` yet. */
  add(kw: KeyWindows, w: AlignedWindow, contents: unknown): void {
    kw.starts.push(w.window.start);
    kw.contents.push(contents);
    w.keys.push(kw);
  }

  /** Removes and returns the earliest window due at `watermark`, or undefined; its keys' contents stay until {@link take}n. */
  pollDue(watermark: number): AlignedWindow | undefined {
    const w = this.queue.peek();
    if (w === undefined || w.time > watermark) return undefined;
    this.queue.pop();
    this.byStart.delete(w.window.start);
    return w;
  }

  /** Removes and returns the contents `kw` has in the window starting at `start` (a window {@link pollDue} returned). */
  take(kw: KeyWindows, start: number): unknown {
    const i = kw.indexOf(start);
    const contents = kw.contents[i];
    kw.removeAt(i);
    if (kw.starts.length === 0) this.release(kw);
    return contents;
  }

  /**
   * Forgets a key without open windows. Only the window being fired may
   * still list it, so it can be reused at once.
   */
  release(kw: KeyWindows): void {
    this.byKey.delete(kw.key);
    this.free.push(kw);
  }

  /** Number of (key, window) pairs waiting to fire. */
  numPending(): number {
    let n = 0;
    for (const w of this.byStart.values()) n += w.keys.length;
    return n;
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [key, kw] of this.byKey) {
      const flat: unknown[] = [];
      for (let i = 0; i < kw.starts.length; i++) {
        const start = kw.starts[i]!;
        const end = this.byStart.get(start)!.window.end;
        flat.push(start, end, 1, this.copy(kw.contents[i]), null, null);
      }
      emit(key, flat);
    }
  }

  restoreKey(key: Key, data: unknown): void {
    forEachSnapshotWindow(data, (start, end, contents) => {
      const w = this.byStart.get(start) ?? this.open(this.windowOf(start, end));
      this.add(this.keyWindows(key), w, contents);
    });
  }
}

/** One tumbling window: its contents by key, in first-arrival order (a `Map` keeps insertion order). */
export interface TumblingWindow {
  /** When it fires: `window.end - 1` (the heap's ordering key). */
  readonly time: number;
  /** Never deleted lazily (the heap's contract). */
  readonly deleted: false;
  /** The window (shared by all keys). */
  readonly window: TimeWindow;
  /** Reduced value, accumulator, element list or join buffers, per key with contents in this window. */
  readonly contents: Map<Key, unknown>;
}

/**
 * Storage of aligned windows when every element falls into exactly one
 * window (tumbling): per window one `Map` from key to contents, and nothing
 * per key. An element costs one lookup in its window's map; a window fires
 * by walking its map — in first-arrival order, as {@link AlignedWindowTable}
 * fires — and is dropped whole, where per-key storage would add and remove
 * every key of every window in a map of all keys (most keys of a window
 * join have one or two elements in it). Snapshots keep the same per-key
 * layout as {@link AlignedWindowTable} and the general path.
 */
export class TumblingWindowTable implements KeyedStatePart {
  /** Open windows by start. */
  readonly byStart = new Map<number, TumblingWindow>();
  private readonly queue = new TimerHeap<TumblingWindow>();

  constructor(
    /** Copies contents for a snapshot (element lists and join buffers keep growing afterwards). */
    private readonly copy: (contents: unknown) => unknown,
    /** The operator's shared window object of `[start, end)`. */
    private readonly windowOf: (start: number, end: number) => TimeWindow,
  ) {}

  /** Opens the window `window` (its start not open yet). */
  open(window: TimeWindow): TumblingWindow {
    const w: TumblingWindow = { time: window.end - 1, deleted: false, window, contents: new Map() };
    this.byStart.set(window.start, w);
    this.queue.push(w);
    return w;
  }

  /** Removes and returns the earliest window due at `watermark`, or undefined. */
  pollDue(watermark: number): TumblingWindow | undefined {
    const w = this.queue.peek();
    if (w === undefined || w.time > watermark) return undefined;
    this.queue.pop();
    this.byStart.delete(w.window.start);
    return w;
  }

  /** Number of keys with contents in some open window. */
  numKeys(): number {
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
    for (const [start, w] of this.byStart) {
      for (const [key, contents] of w.contents) {
        let flat = byKey.get(key);
        if (flat === undefined) byKey.set(key, (flat = []));
        flat.push(start, w.window.end, 1, this.copy(contents), null, null);
      }
    }
    for (const [key, flat] of byKey) emit(key, flat);
  }

  restoreKey(key: Key, data: unknown): void {
    forEachSnapshotWindow(data, (start, end, contents) => {
      const w = this.byStart.get(start) ?? this.open(this.windowOf(start, end));
      w.contents.set(key, contents);
    });
  }
}
