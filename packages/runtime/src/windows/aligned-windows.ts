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

/** No restored contents for a window (contents themselves may be `undefined`). */
const NONE: unique symbol = Symbol('no restored contents');

/**
 * One key of {@link PaneWindowTable}: its panes (slide-sized slices of event
 * time, each holding the reduced value or accumulator of the key's elements
 * in it) and the open windows it is listed in.
 */
export class KeyPanes {
  /**
   * Pane starts, ascending; `panes[i]` holds the contents of the pane
   * starting at `paneStarts[i]`. Every pane before the earliest open window
   * is gone, so a firing window's panes are a prefix.
   */
  readonly paneStarts: number[] = [];
  readonly panes: unknown[] = [];
  /** Starts of the open windows that list this key (in the order its elements opened them: the snapshot order). */
  readonly windowStarts: number[] = [];
  /**
   * Per position in {@link windowStarts}: the window's contents restored
   * from a snapshot (which holds whole windows, not panes), or {@link NONE};
   * elements after the restore go to panes, and the window combines both.
   */
  readonly restored: unknown[] = [];
  /** The pane of the previous element of this key (consecutive elements of a key mostly share one), or NaN. */
  lastPane = Number.NaN;
  /** Position of {@link lastPane} in {@link paneStarts}. */
  lastPaneAt = -1;
  constructor(
    /** The key (set again when the object is reused for another key). */
    public key: Key,
  ) {}

  /** Position of the pane starting at `start`, or -1. */
  paneAt(start: number): number {
    if (start === this.lastPane) return this.lastPaneAt;
    const starts = this.paneStarts;
    for (let i = 0; i < starts.length; i++) {
      if (starts[i] === start) {
        this.lastPane = start;
        this.lastPaneAt = i;
        return i;
      }
    }
    return -1;
  }

  /** Position of the window starting at `start` in {@link windowStarts}, or -1. */
  windowAt(start: number): number {
    const starts = this.windowStarts;
    for (let i = 0; i < starts.length; i++) if (starts[i] === start) return i;
    return -1;
  }
}

/** One window of a {@link PaneWindowTable}: the keys listed in it. */
export interface PaneWindow {
  /** When it fires: `window.end - 1` (the heap's ordering key). */
  readonly time: number;
  /** Never deleted lazily (the heap's contract). */
  readonly deleted: false;
  /** The window (shared by all keys). */
  readonly window: TimeWindow;
  /** The keys with contents in this window, in first-arrival order (as {@link AlignedWindowTable} keeps them). */
  readonly keys: KeyPanes[];
}

/**
 * Storage of sliding windows whose size is a multiple of the slide and whose
 * contents are incremental (a reduce function, or an aggregate function's
 * accumulator; no evictor): per key, the contents of slide-sized panes. An
 * element updates one pane (where {@link AlignedWindowTable} updates
 * size / slide windows); a window, when it fires, combines its size / slide
 * panes in event-time order (the aggregate's `merge`, starting from a fresh
 * accumulator so no pane's accumulator is handed to `merge` as its first
 * argument, or the reduce function). A pane goes when the last window that
 * covers it (the one starting at the pane) fires.
 *
 * Windows keep their keys in first-arrival order and fire in end order, as
 * on the other paths. Snapshots keep the general path's per-window layout
 * (each open window's panes combined), so checkpoints and savepoints restore
 * on every path, on the disk backend and at another parallelism; a restored
 * window keeps its snapshot contents beside the panes of later elements.
 */
export class PaneWindowTable implements KeyedStatePart {
  /** Keys with an open window. */
  readonly byKey = new Map<Key, KeyPanes>();
  /** Open windows by start. */
  readonly byStart = new Map<number, PaneWindow>();
  private readonly queue = new TimerHeap<PaneWindow>();
  /** Number of (key, window) pairs with restored contents: none, mostly, and then a firing skips looking. */
  private numRestored = 0;
  /** Emptied {@link KeyPanes} for reuse (as in {@link AlignedWindowTable}). */
  private readonly free: KeyPanes[] = [];

  constructor(
    /** Pane length: the windows' slide (ms). */
    readonly slide: number,
    /** The windows' offset (ms): panes start at it plus multiples of {@link slide}. */
    readonly offset: number,
    /**
     * Combines `part` (a pane's or a restored window's contents) into
     * `acc`, the contents so far (`has` false: none yet). Must not change `part`.
     */
    private readonly combine: (acc: unknown, has: boolean, part: unknown) => unknown,
    /** The operator's shared window object of `[start, end)`. */
    private readonly windowOf: (start: number, end: number) => TimeWindow,
  ) {}

  /** The panes of `key`, created empty when it has none. */
  keyPanes(key: Key): KeyPanes {
    let kp = this.byKey.get(key);
    if (kp === undefined) {
      kp = this.free.pop();
      if (kp === undefined) kp = new KeyPanes(key);
      else kp.key = key;
      this.byKey.set(key, kp);
    }
    return kp;
  }

  /** Opens the window `window` (its start not open yet). */
  open(window: TimeWindow): PaneWindow {
    const w: PaneWindow = { time: window.end - 1, deleted: false, window, keys: [] };
    this.byStart.set(window.start, w);
    this.queue.push(w);
    return w;
  }

  /** Lists `kp` in `w` (which does not list it yet), with restored contents or {@link NONE}. */
  list(kp: KeyPanes, w: PaneWindow, restored: unknown = NONE): void {
    kp.windowStarts.push(w.window.start);
    kp.restored.push(restored);
    w.keys.push(kp);
  }

  /** Adds a pane starting at `start` with `contents` to `kp` (which has none there), keeping the panes in start order. */
  addPane(kp: KeyPanes, start: number, contents: unknown): void {
    const starts = kp.paneStarts;
    const panes = kp.panes;
    // Mostly the newest pane (event time mostly grows): move later ones up by one.
    let i = starts.length;
    starts.push(start);
    panes.push(contents);
    for (; i > 0 && starts[i - 1]! > start; i--) {
      starts[i] = starts[i - 1]!;
      panes[i] = panes[i - 1];
    }
    starts[i] = start;
    panes[i] = contents;
    kp.lastPane = start;
    kp.lastPaneAt = i;
  }

  /** The contents of the window `[start, end)` of `kp` (position `i` of its windows): its restored contents and panes combined, in start order. */
  private contentsAt(kp: KeyPanes, i: number, start: number, end: number): unknown {
    let acc: unknown = undefined;
    let has = false;
    const restored = this.numRestored === 0 ? NONE : kp.restored[i];
    if (restored !== NONE) {
      acc = this.combine(acc, has, restored);
      has = true;
    }
    const starts = kp.paneStarts;
    const panes = kp.panes;
    for (let j = 0; j < starts.length; j++) {
      const s = starts[j]!;
      if (s >= end) break;
      if (s < start) continue;
      acc = this.combine(acc, has, panes[j]);
      has = true;
    }
    return acc;
  }

  /** Removes and returns the earliest window due at `watermark`, or undefined; its keys' contents stay until {@link take}n. */
  pollDue(watermark: number): PaneWindow | undefined {
    const w = this.queue.peek();
    if (w === undefined || w.time > watermark) return undefined;
    this.queue.pop();
    this.byStart.delete(w.window.start);
    return w;
  }

  /**
   * Removes `kp` from the window `w` ({@link pollDue} returned it) and
   * returns its contents there; drops the pane starting at the window's
   * start (no window still open covers it) and the key once it has no window.
   */
  take(kp: KeyPanes, w: PaneWindow): unknown {
    const start = w.window.start;
    const i = kp.windowAt(start);
    const contents = this.contentsAt(kp, i, start, w.window.end);
    if (this.numRestored !== 0 && kp.restored[i] !== NONE) this.numRestored--;
    removeAt(kp.windowStarts, i);
    removeAt(kp.restored, i);
    if (kp.paneStarts[0] === start) {
      kp.paneStarts.shift();
      kp.panes.shift();
      kp.lastPane = Number.NaN;
    }
    if (kp.windowStarts.length === 0) this.release(kp);
    return contents;
  }

  /** Forgets a key without open windows (only the window being fired may still list it). */
  release(kp: KeyPanes): void {
    this.byKey.delete(kp.key);
    kp.paneStarts.length = 0;
    kp.panes.length = 0;
    kp.lastPane = Number.NaN;
    this.free.push(kp);
  }

  /** Number of (key, window) pairs waiting to fire. */
  numPending(): number {
    let n = 0;
    for (const w of this.byStart.values()) n += w.keys.length;
    return n;
  }

  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [key, kp] of this.byKey) {
      const flat: unknown[] = [];
      for (let i = 0; i < kp.windowStarts.length; i++) {
        const start = kp.windowStarts[i]!;
        const end = this.byStart.get(start)!.window.end;
        // Combined contents are fresh values (a new accumulator, or a reduced value that is replaced, not changed).
        flat.push(start, end, 1, this.contentsAt(kp, i, start, end), null, null);
      }
      emit(key, flat);
    }
  }

  restoreKey(key: Key, data: unknown): void {
    forEachSnapshotWindow(data, (start, end, contents) => {
      const w = this.byStart.get(start) ?? this.open(this.windowOf(start, end));
      this.list(this.keyPanes(key), w, contents);
      this.numRestored++;
    });
  }
}

/** Removes position `i` of `a` by moving the last element there (order does not matter). */
function removeAt(a: unknown[], i: number): void {
  const last = a.length - 1;
  a[i] = a[last];
  a.pop();
}
