/**
 * The window operator (keyed and all-window) and the window join, which is a
 * window operator whose contents are the two sides' buffers.
 *
 * Per key, windows live in a `Map<windowStart, WindowState>` (non-merging
 * windows of one assigner share a size; merged session windows of one key are
 * disjoint — either way the start identifies the window). Timers use the
 * window start as namespace. Contents are kept incrementally (reduce,
 * aggregate), fully buffered (process) or per join side. The assigners'
 * default triggers run inline: an element of an existing window registers no
 * timer, and without allowed lateness the end-of-window timer is also the
 * cleanup timer. Non-merging windows share their window objects across keys.
 * Event-time tumbling and sliding windows with that default trigger and no
 * allowed lateness fire once each and need neither: `aligned-windows.ts`
 * keeps them per key in small arrays and per window as a list of keys (or,
 * tumbling, per window as a map from key to contents), and a window fires
 * when the watermark passes it, without a timer per key and window.
 */
import {
  defaultTrigger,
  EventTimeTrigger,
  ProcessingTimeTrigger,
  type AggregateFunction,
  type Evictor,
  type EvictorContext,
  type Key,
  type KeyedStateStore,
  type OutputTag,
  type ProcessWindowContext,
  type TimestampedValue,
  type TimeWindow,
  type Trigger,
  type TriggerContext,
  type TriggerResult,
  type ValueState,
  type ValueStateDescriptor,
} from '@freshet/api';
import { NO_TIMESTAMP } from '../operator.js';
import { AbstractOperator, TimestampedCollector, type KeyFn } from '../operators/base.js';
import { OperatorUsageError } from '../operators/errors.js';
import { requireObject, resolveOptionalMethod } from '../operators/functions.js';
import type { HeapKeyedStateBackend, KeyedStatePart } from '../state/backend.js';
import type { StateMap } from '../state/disk-store.js';
import type { InternalTimerService, Timer } from '../timers/timer-service.js';
import {
  AlignedWindowTable,
  TumblingWindowTable,
  type AlignedWindow,
  type KeyWindows,
  type TumblingWindow,
} from './aligned-windows.js';
import { createWindowAssigner, type WindowAssigner } from './assigners.js';
import { WindowStateStore, WindowUserState, type WindowStateSnapshot } from './window-state.js';

/** State of one window of one key. */
export interface WindowState {
  /** The window. */
  window: TimeWindow;
  /** Whether `contents` holds anything (false after a purge). */
  has: boolean;
  /** Reduced value, accumulator, element list, or join buffers. */
  contents: unknown;
  /** The trigger's partitioned state (descriptor name -> value). */
  trigger: Map<string, unknown> | undefined;
  /** The window function's `windowState()`. */
  user: WindowUserState | undefined;
}

/** Join buffers of one window. */
interface JoinBuffers {
  l: unknown[];
  r: unknown[];
}

type Mode = 'reduce' | 'aggregate' | 'process' | 'join';

/**
 * Which built-in trigger the operator runs inline instead of calling it per
 * element: the default trigger of its assigner, whose per-element work is
 * "register the end-of-window timer" (a no-op once the window exists, because
 * that timer stays registered until it fires, and then the window is fired or
 * gone).
 */
const enum InlineTrigger {
  /** A custom trigger (or one without a fast path): called for every element. */
  None,
  /** {@link EventTimeTrigger} on an event-time assigner. */
  EventTime,
  /** {@link ProcessingTimeTrigger} on a processing-time (non-global) assigner. */
  ProcessingTime,
}

/** Bound of the cache of shared window objects (aligned windows of one assigner). */
const WINDOW_CACHE_LIMIT = 4096;

/**
 * A copy of a window's contents for a snapshot: element lists and join
 * buffers keep growing after it; reduced values and accumulators are
 * replaced, not changed in place, by the operator.
 */
function copyContents(mode: Mode, buffered: boolean, contents: unknown): unknown {
  if (buffered) return (contents as unknown[]).slice();
  if (mode === 'join') {
    const j = contents as JoinBuffers;
    return { l: j.l.slice(), r: j.r.slice() };
  }
  return contents;
}

/** Per key: window start -> state. Takes part in snapshots. */
class WindowTable implements KeyedStatePart {
  /** Key -> its windows; on the disk backend a map on disk (stored as {@link encode} says). */
  readonly byKey: StateMap<Map<number, WindowState>>;
  constructor(
    private readonly mode: Mode,
    /** Contents are element lists (a process function, or an evictor). */
    private readonly buffered: boolean,
    backend: HeapKeyedStateBackend,
  ) {
    this.byKey = backend.stateMap('windows', {
      encode: (windows) => this.encode(windows),
      decode: (data) => WindowTable.decode(data, new Map<number, WindowState>()),
    });
  }
  /**
   * Per key one flat array, six slots per window: start, end, 1 if it has
   * contents else 0, the contents (or null), the trigger's state entries (or
   * null), the window's own user state (`windowState()`, or null) — flat,
   * because aligned windows make this the bulk of a checkpoint and one array
   * per window would double what is allocated and encoded.
   */
  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [key, windows] of this.byKey) {
      const flat = this.encode(windows);
      if (flat.length > 0) emit(key, flat);
    }
  }
  private encode(windows: Map<number, WindowState>): unknown[] {
    const flat: unknown[] = [];
    for (const ws of windows.values()) {
      flat.push(
        ws.window.start,
        ws.window.end,
        ws.has ? 1 : 0,
        ws.has ? copyContents(this.mode, this.buffered, ws.contents) : null,
        ws.trigger ? [...ws.trigger] : null,
        ws.user ? ws.user.snapshot() : null,
      );
    }
    return flat;
  }
  restoreKey(key: Key, data: unknown): void {
    let windows = this.byKey.get(key);
    if (!windows) this.byKey.set(key, (windows = new Map<number, WindowState>()));
    WindowTable.decode(data, windows);
  }
  /** Adds the windows of {@link encode}'s `data` to `windows`. */
  private static decode(data: unknown, windows: Map<number, WindowState>): Map<number, WindowState> {
    const flat = data as unknown[];
    for (let i = 0; i + 5 < flat.length; i += 6) {
      // JSON-like codecs turn ±Infinity into null: the global window.
      const start = (flat[i] as number | null) ?? Number.NEGATIVE_INFINITY;
      const end = (flat[i + 1] as number | null) ?? Number.POSITIVE_INFINITY;
      const has = flat[i + 2] === 1;
      const trigger = flat[i + 4] as [string, unknown][] | null;
      const user = flat[i + 5] as WindowStateSnapshot | null;
      windows.set(start, {
        window: { start, end },
        has,
        contents: has ? flat[i + 3] : undefined,
        trigger: trigger ? new Map(trigger) : undefined,
        user: user ? WindowUserState.restore(user) : undefined,
      });
    }
    return windows;
  }
}

/** The TriggerContext, ProcessWindowContext and EvictorContext, one reused object per operator. */
class WindowContexts implements TriggerContext, ProcessWindowContext, EvictorContext {
  /** The window state being handled. */
  ws!: WindowState;
  private readonly states = new Map<string, ValueState<unknown>>();
  private readonly windowStore: WindowStateStore;
  constructor(
    private readonly op: WindowOperator,
    private readonly timers: InternalTimerService,
    merging: boolean,
  ) {
    this.windowStore = new WindowStateStore(
      () => {
        if (merging) {
          throw new OperatorUsageError(
            `Operator '${op.name}': windowState() is not available on merging (session) windows, as in Flink: keep the state in globalState(), or use non-merging windows`,
          );
        }
        return (this.ws.user ??= new WindowUserState());
      },
      () => timers.currentProcessingTime(),
      op.name,
    );
  }
  windowState(): KeyedStateStore {
    return this.windowStore;
  }
  globalState(): KeyedStateStore {
    return this.op.getRuntimeContext();
  }
  getCurrentWatermark(): number {
    return this.timers.currentWatermark;
  }
  getCurrentProcessingTime(): number {
    return this.timers.currentProcessingTime();
  }
  registerEventTimeTimer(time: number): void {
    this.timers.registerEventTimeTimer(this.ws.window.start, time);
  }
  registerProcessingTimeTimer(time: number): void {
    this.timers.registerProcessingTimeTimer(this.ws.window.start, time);
  }
  deleteEventTimeTimer(time: number): void {
    this.timers.deleteEventTimeTimer(this.ws.window.start, time);
  }
  deleteProcessingTimeTimer(time: number): void {
    this.timers.deleteProcessingTimeTimer(this.ws.window.start, time);
  }
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    let state = this.states.get(descriptor.name);
    if (!state) {
      const name = descriptor.name;
      const fallback = descriptor.defaultValue;
      state = {
        value: () => {
          const v = this.ws.trigger?.get(name);
          return v === undefined ? fallback : v;
        },
        update: (value: unknown) => {
          (this.ws.trigger ??= new Map()).set(name, value);
        },
        clear: () => {
          this.ws.trigger?.delete(name);
        },
      };
      this.states.set(name, state);
    }
    return state as ValueState<T>;
  }
  window(): TimeWindow {
    return this.ws.window;
  }
  currentWatermark(): number {
    return this.timers.currentWatermark;
  }
  currentProcessingTime(): number {
    return this.timers.currentProcessingTime();
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.op.emitSide(tag.id, value, this.ws.window.end - 1);
  }
}

/** Keyed and all-window window operator; also the window join (`kind: 'windowJoin'`). */
export class WindowOperator extends AbstractOperator {
  private assigner!: WindowAssigner;
  private trigger!: Trigger<unknown>;
  private mode!: Mode;
  private key0: KeyFn | undefined;
  private key1: KeyFn | undefined;
  private reduceFn: ((a: unknown, b: unknown) => unknown) | undefined;
  private agg: AggregateFunction<unknown, unknown, unknown> | undefined;
  private processFn: ((...args: never[]) => void) | undefined;
  /** The process function's optional `clear(ctx)`, called when a window is cleaned up. */
  private processClear: ((ctx: ProcessWindowContext) => void) | undefined;
  private evictor: Evictor<unknown> | undefined;
  private joinFn: ((left: unknown, right: unknown) => unknown) | undefined;
  /** A window coGroup's function (a window join node with `fns.coGroup`). */
  private coGroupFn:
    ((first: readonly unknown[], second: readonly unknown[], out: TimestampedCollector) => void) | undefined;
  private keyedProcess = true;
  private allowedLateness = 0;
  private lateTag: string | undefined;
  private table!: WindowTable;
  /** The storage of aligned windows when every window fires exactly once at its end (see the module comment); else undefined. */
  private aligned: AlignedWindowTable | undefined;
  /** Instead of {@link aligned} when each element falls into one window (tumbling): contents per window by key. */
  private tumbling: TumblingWindowTable | undefined;
  /** The tumbling window of the previous element (consecutive elements mostly share one); emptied whenever windows fire. */
  private lastTumbling: TumblingWindow | undefined;
  /** An aggregate without evictor: aligned and tumbling windows add elements with {@link accumulate} instead of {@link combine}. */
  private aggregating = false;
  /**
   * The aligned windows of the previous element, by position in
   * {@link starts}: consecutive elements mostly fall into the same windows,
   * and comparing a start is cheaper than a Map lookup by a large number.
   * Emptied whenever windows fire.
   */
  private readonly lastStarts: number[] = [];
  private readonly lastWindows: (AlignedWindow | undefined)[] = [];
  /** The window being fired from {@link aligned}, one reused object. */
  private readonly firing: WindowState = {
    window: { start: 0, end: 0 },
    has: false,
    contents: undefined,
    trigger: undefined,
    user: undefined,
  };
  private windowTimers!: InternalTimerService;
  private tctx!: WindowContexts;
  private collector!: TimestampedCollector;
  private readonly starts: number[] = [];
  private readonly single: unknown[] = [undefined];
  private inlineTrigger = InlineTrigger.None;
  /** Every timer is a window's cleanup timer: they are not snapshotted but registered again on restore. */
  private derivedTimers = false;
  /**
   * Non-merging windows by start, shared by every key: aligned windows repeat
   * across keys, so a new window state needs no new window object.
   */
  private readonly windowCache = new Map<number, TimeWindow>();
  /** Records dropped because they were late beyond the allowed lateness (and no late tag is set). */
  numLateRecordsDropped = 0;

  protected override usesKeyedBackend(): boolean {
    return true;
  }

  protected setup(): void {
    const spec = this.node.spec.window;
    if (!spec) throw new OperatorUsageError(`Operator '${this.name}' (${this.node.kind}) has no spec.window`);
    const fns = this.node.fns;
    this.assigner = createWindowAssigner(spec.assigner, this.name);
    this.allowedLateness = spec.allowedLatenessMs > 0 ? spec.allowedLatenessMs : 0;
    this.lateTag = spec.lateTag;
    const isJoin = this.node.kind === 'windowJoin';
    if (isJoin || spec.keyed) {
      this.key0 = this.keySelector(0);
      if (isJoin) this.key1 = this.keySelector(1);
    }
    this.keyedProcess = spec.keyed || isJoin;
    if (isJoin) {
      this.mode = 'join';
      if (fns.coGroup !== undefined) {
        this.coGroupFn = this.userFunction<
          (first: readonly unknown[], second: readonly unknown[], out: TimestampedCollector) => void
        >(fns.coGroup, 'coGroup');
      } else
        this.joinFn = this.userFunction<(left: unknown, right: unknown) => unknown>(
          fns.join ?? fns.fn,
          'join',
        );
    } else {
      this.mode = spec.function;
      if (spec.function === 'reduce')
        this.reduceFn = this.userFunction<(a: unknown, b: unknown) => unknown>(fns.reduce, 'reduce');
      else if (spec.function === 'aggregate') {
        this.agg = requireObject<AggregateFunction<unknown, unknown, unknown>>(
          fns.aggregate,
          ['createAccumulator', 'add', 'getResult'],
          this.name,
        );
        this.addRichFunction(this.agg);
      }
      if (spec.function === 'process' || spec.withProcess) {
        this.processFn = this.userFunction(fns.windowProcess, 'process');
        this.processClear = resolveOptionalMethod(fns.windowProcess, 'clear');
      }
      if (spec.evictor === true) {
        this.evictor = requireObject<Evictor<unknown>>(fns.evictor, ['evictBefore', 'evictAfter'], this.name);
      }
    }
    // The API sets fns.trigger on every window node (the custom trigger or the
    // assigner's default); graphs built without it get the API's default.
    if (fns.trigger !== undefined || spec.customTrigger) {
      this.trigger = requireObject<Trigger<unknown>>(
        fns.trigger,
        ['onElement', 'onEventTime', 'onProcessingTime', 'clear'],
        this.name,
      );
      if (this.assigner.isMerging && !(this.trigger.canMerge?.() ?? false)) {
        throw new OperatorUsageError(
          `Operator '${this.name}': the trigger does not support merging (session) windows; ` +
            'use a trigger whose canMerge() returns true and that implements onMerge()',
        );
      }
    } else {
      this.trigger = defaultTrigger(spec.assigner);
    }
    const a = this.assigner;
    if (!a.isMerging && a.isEventTime && this.trigger === EventTimeTrigger.create()) {
      this.inlineTrigger = InlineTrigger.EventTime;
    } else if (
      !a.isMerging &&
      !a.isEventTime &&
      !a.isGlobal &&
      this.trigger === ProcessingTimeTrigger.create()
    ) {
      this.inlineTrigger = InlineTrigger.ProcessingTime;
    }
    const backend = this.backend!;
    const buffered = this.mode === 'process' || this.evictor !== undefined;
    this.aggregating = this.mode === 'aggregate' && this.evictor === undefined;
    this.table = new WindowTable(this.mode, buffered, backend);
    // A built-in trigger without allowed lateness keeps no timer but each window's cleanup timer.
    this.derivedTimers = this.inlineTrigger !== InlineTrigger.None && this.allowedLateness === 0;
    // On the disk backend windows take the general path, whose contents live in the (on-disk) table.
    if (this.derivedTimers && this.inlineTrigger === InlineTrigger.EventTime && !backend.onDisk) {
      // Each window fires once, at the cleanup time: no per-key timers or window states needed.
      const mode = this.mode;
      const copy = (contents: unknown): unknown => copyContents(mode, buffered, contents);
      const windowOf = (start: number, end: number): TimeWindow => this.windowOf(start, end);
      if (spec.assigner.type === 'tumbling') {
        this.tumbling = new TumblingWindowTable(copy, windowOf);
        backend.registerPart('windows', this.tumbling);
      } else {
        this.aligned = new AlignedWindowTable(copy, windowOf);
        backend.registerPart('windows', this.aligned);
      }
    } else backend.registerPart('windows', this.table);
    this.windowTimers = this.timerService(
      {
        onEventTime: (timer) => {
          this.onTimer(timer, true);
        },
        onProcessingTime: (timer) => {
          this.onTimer(timer, false);
        },
      },
      undefined,
      { snapshot: !this.derivedTimers },
    );
    this.tctx = new WindowContexts(this, this.windowTimers, this.assigner.isMerging);
    this.collector = new TimestampedCollector(this.output);
  }

  /** Registers the cleanup timer of every restored window again when timers are not in the snapshots. */
  protected override afterRestore(): void {
    if (!this.derivedTimers || this.aligned || this.tumbling) return;
    const backend = this.backend!;
    for (const [key, windows] of this.table.byKey) {
      backend.setCurrentKey(key);
      for (const ws of windows.values()) this.registerCleanupTimer(ws.window);
    }
  }

  /** Emits to a side output (used by the ProcessWindowContext). */
  emitSide(tagId: string, value: unknown, timestamp: number): void {
    this.output.collectSide(tagId, value, timestamp);
  }

  processElement(value: unknown, timestamp: number): void {
    this.element(value, timestamp, 0);
  }

  processElement2(value: unknown, timestamp: number): void {
    this.element(value, timestamp, 1);
  }

  private element(value: unknown, timestamp: number, input: 0 | 1): void {
    const backend = this.backend!;
    let key: Key = 0;
    const keyFn = input === 0 ? this.key0 : this.key1;
    if (keyFn) {
      try {
        key = keyFn(value);
      } catch (error) {
        this.fail(error, 'keySelector');
      }
    }
    backend.setCurrentKey(key);
    const assigner = this.assigner;
    let time: number;
    if (assigner.isEventTime) {
      if (timestamp === NO_TIMESTAMP) {
        throw new OperatorUsageError(
          `Operator '${this.name}': a record has no timestamp, but event-time windows need one; ` +
            'call assignTimestampsAndWatermarks(...) upstream or use processing-time windows',
        );
      }
      time = timestamp;
    } else {
      time = this.ctx.processingTime.now();
    }
    if (this.tumbling) {
      this.tumblingElement(this.tumbling, key, value, timestamp, input, time);
      return;
    }
    if (this.aligned) {
      this.alignedElement(this.aligned, key, value, timestamp, input, time);
      return;
    }
    let windows = this.table.byKey.get(key);
    const n = assigner.assign(time, this.starts);
    let skipped = true;
    if (assigner.isMerging) {
      if (!windows) this.table.byKey.set(key, (windows = new Map<number, WindowState>()));
      skipped = !this.mergingElement(
        windows,
        value,
        timestamp,
        input,
        this.starts[0]!,
        assigner.endOf(this.starts[0]!),
      );
    } else {
      const inline = this.inlineTrigger;
      for (let i = 0; i < n; i++) {
        const start = this.starts[i]!;
        let ws = windows?.get(start);
        let fresh = false;
        if (!ws) {
          const end = assigner.endOf(start);
          if (this.isWindowLate(end)) continue;
          ws = {
            window: this.windowOf(start, end),
            has: false,
            contents: undefined,
            trigger: undefined,
            user: undefined,
          };
          if (!windows) this.table.byKey.set(key, (windows = new Map<number, WindowState>()));
          windows.set(start, ws);
          this.registerCleanupTimer(ws.window);
          fresh = true;
        } else if (this.isWindowLate(ws.window.end)) continue;
        skipped = false;
        this.add(ws, value, input, timestamp);
        if (inline === InlineTrigger.EventTime) {
          // EventTimeTrigger.onElement, without re-registering the timer the window already has.
          const maxTs = ws.window.end - 1;
          if (maxTs <= this.windowTimers.currentWatermark) this.handle('FIRE', key, ws);
          else if (fresh && this.allowedLateness !== 0)
            this.windowTimers.registerEventTimeTimer(start, maxTs);
          // With no allowed lateness the cleanup timer registered above is the trigger's timer.
          continue;
        }
        // ProcessingTimeTrigger.onElement: its timer (end - 1) is the cleanup timer registered above.
        if (inline === InlineTrigger.ProcessingTime) continue;
        this.tctx.ws = ws;
        let result: TriggerResult;
        try {
          result = this.trigger.onElement(value, timestamp, ws.window, this.tctx);
        } catch (error) {
          this.fail(error, 'trigger.onElement');
        }
        if (result !== 'CONTINUE') this.handle(result, key, ws);
      }
    }
    if (windows?.size === 0) this.table.byKey.delete(key);
    if (skipped) this.dropLate(value, timestamp);
  }

  /** An element of aligned windows: added to each of its windows that is not late, under its key. */
  private alignedElement(
    table: AlignedWindowTable,
    key: Key,
    value: unknown,
    timestamp: number,
    input: 0 | 1,
    time: number,
  ): void {
    const assigner = this.assigner;
    const starts = this.starts;
    const n = assigner.assign(time, starts);
    let skipped = true;
    const lastStarts = this.lastStarts;
    const lastWindows = this.lastWindows;
    let kw: KeyWindows | undefined;
    for (let i = 0; i < n; i++) {
      const start = starts[i]!;
      kw ??= table.keyWindows(key);
      const at = kw.indexOf(start);
      if (at >= 0) {
        // An open window of the key is not late: it would have fired.
        skipped = false;
        kw.contents[at] = this.aggregating
          ? this.accumulate(kw.contents[at], value)
          : this.combine(true, kw.contents[at], value, input, timestamp);
        continue;
      }
      let w = lastStarts[i] === start ? lastWindows[i] : undefined;
      if (w === undefined) {
        w = table.byStart.get(start);
        if (w === undefined) {
          const end = assigner.endOf(start);
          if (this.isWindowLate(end)) continue;
          w = table.open(this.windowOf(start, end));
        } else if (this.isWindowLate(w.window.end)) continue;
        lastStarts[i] = start;
        lastWindows[i] = w;
      }
      skipped = false;
      table.add(
        kw,
        w,
        this.aggregating
          ? this.accumulate(undefined, value, true)
          : this.combine(false, undefined, value, input, timestamp),
      );
    }
    if (kw !== undefined && kw.starts.length === 0) table.release(kw);
    if (skipped) this.dropLate(value, timestamp);
  }

  /** An element of tumbling windows: added to its window under its key, unless the window is late. */
  private tumblingElement(
    table: TumblingWindowTable,
    key: Key,
    value: unknown,
    timestamp: number,
    input: 0 | 1,
    time: number,
  ): void {
    const starts = this.starts;
    this.assigner.assign(time, starts);
    const start = starts[0]!;
    let w = this.lastTumbling;
    if (w === undefined || w.window.start !== start) {
      w = table.byStart.get(start);
      if (w === undefined) {
        const end = this.assigner.endOf(start);
        if (this.isWindowLate(end)) {
          this.dropLate(value, timestamp);
          return;
        }
        w = table.open(this.windowOf(start, end));
        this.lastTumbling = w;
      } else if (!this.isWindowLate(w.window.end)) {
        this.lastTumbling = w;
      } else if (!w.contents.has(key)) {
        // As in alignedElement: a key's open window takes its elements; a late window takes no new key.
        this.dropLate(value, timestamp);
        return;
      }
    }
    const contents = w.contents;
    const current = contents.get(key);
    if (current === undefined && !contents.has(key)) {
      contents.set(
        key,
        this.aggregating
          ? this.accumulate(undefined, value, true)
          : this.combine(false, undefined, value, input, timestamp),
      );
      return;
    }
    const next = this.aggregating
      ? this.accumulate(current, value)
      : this.combine(true, current, value, input, timestamp);
    if (next !== current) contents.set(key, next);
  }

  /** An element that fell into no window: if it is late, to the late side output (with a late tag) or counted as dropped. */
  private dropLate(value: unknown, timestamp: number): void {
    if (!this.isElementLate(timestamp)) return;
    if (this.lateTag !== undefined) this.output.collectSide(this.lateTag, value, timestamp);
    else this.numLateRecordsDropped++;
  }

  /** Fires every tumbling window whose end the watermark passed, in end order, each key's in first-arrival order. */
  private fireTumbling(table: TumblingWindowTable, watermark: number): void {
    const backend = this.backend!;
    const ws = this.firing;
    let w = table.pollDue(watermark);
    if (w === undefined) return;
    // The cached window may be one that fires now (and no longer takes elements).
    this.lastTumbling = undefined;
    for (; w !== undefined; w = table.pollDue(watermark)) {
      ws.window = w.window;
      for (const [key, contents] of w.contents) {
        backend.setCurrentKey(key);
        ws.has = true;
        ws.contents = contents;
        ws.user = undefined;
        this.emit(key, ws);
        this.clearWindowFunction(ws);
      }
      w.contents.clear();
    }
    ws.contents = undefined;
    ws.user = undefined;
  }

  /** Fires every aligned window whose end the watermark passed, in end order, each key's in first-arrival order. */
  private fireAligned(table: AlignedWindowTable, watermark: number): void {
    const backend = this.backend!;
    const ws = this.firing;
    let w = table.pollDue(watermark);
    if (w === undefined) return;
    // A cached window may be one that fires now (and no longer takes elements).
    this.lastStarts.fill(Number.NaN);
    this.lastWindows.fill(undefined);
    for (; w !== undefined; w = table.pollDue(watermark)) {
      ws.window = w.window;
      const start = w.window.start;
      for (const kw of w.keys) {
        const key = kw.key;
        backend.setCurrentKey(key);
        ws.has = true;
        ws.contents = table.take(kw, start);
        ws.user = undefined;
        this.emit(key, ws);
        this.clearWindowFunction(ws);
      }
    }
    ws.contents = undefined;
    ws.user = undefined;
  }

  override processWatermark(watermark: number): void {
    const aligned = this.aligned;
    if (aligned !== undefined && watermark >= this.windowTimers.currentWatermark) {
      // Before the base class forwards the watermark, as the timers it fires are.
      this.windowTimers.currentWatermark = watermark;
      this.fireAligned(aligned, watermark);
    }
    const tumbling = this.tumbling;
    if (tumbling !== undefined && watermark >= this.windowTimers.currentWatermark) {
      this.windowTimers.currentWatermark = watermark;
      this.fireTumbling(tumbling, watermark);
    }
    super.processWatermark(watermark);
  }

  /** Session windows: merges the new window with every window of the key it touches. Returns false if late. */
  private mergingElement(
    windows: Map<number, WindowState>,
    value: unknown,
    timestamp: number,
    input: 0 | 1,
    newStart: number,
    newEnd: number,
  ): boolean {
    let start = newStart;
    let end = newEnd;
    const touched: WindowState[] = [];
    for (const ws of windows.values()) {
      // Flink's TimeWindow.intersects: adjacent windows merge too.
      if (ws.window.start <= newEnd && ws.window.end >= newStart) {
        touched.push(ws);
        if (ws.window.start < start) start = ws.window.start;
        if (ws.window.end > end) end = ws.window.end;
      }
    }
    if (this.isWindowLate(end)) return false;
    let target: WindowState;
    const only = touched.length === 1 ? touched[0]! : undefined;
    if (only && only.window.start === start && only.window.end === end) {
      target = only;
    } else if (touched.length === 0) {
      target = {
        window: { start, end },
        has: false,
        contents: undefined,
        trigger: undefined,
        user: undefined,
      };
      windows.set(start, target);
      this.registerCleanupTimer(target.window);
    } else {
      target = {
        window: { start, end },
        has: false,
        contents: undefined,
        trigger: undefined,
        user: undefined,
      };
      for (const ws of touched) {
        if (ws.has) this.mergeContents(target, ws);
        if (ws.trigger) {
          for (const [name, v] of ws.trigger)
            if (!target.trigger?.has(name)) (target.trigger ??= new Map()).set(name, v);
        }
        windows.delete(ws.window.start);
      }
      windows.set(start, target);
      this.tctx.ws = target;
      try {
        this.trigger.onMerge?.(target.window, this.tctx);
      } catch (error) {
        this.fail(error, 'trigger.onMerge');
      }
      for (const ws of touched) {
        this.tctx.ws = ws;
        try {
          this.trigger.clear(ws.window, this.tctx);
        } catch (error) {
          this.fail(error, 'trigger.clear');
        }
        this.deleteCleanupTimer(ws.window);
      }
      this.registerCleanupTimer(target.window);
    }
    this.add(target, value, input, timestamp);
    this.tctx.ws = target;
    let result: TriggerResult;
    try {
      result = this.trigger.onElement(value, timestamp, target.window, this.tctx);
    } catch (error) {
      this.fail(error, 'trigger.onElement');
    }
    if (result !== 'CONTINUE') this.handle(result, this.backend!.getCurrentKey(), target);
    return true;
  }

  /** The shared window object `[start, end)` of a non-merging assigner. */
  private windowOf(start: number, end: number): TimeWindow {
    const cache = this.windowCache;
    let window = cache.get(start);
    if (window === undefined) {
      // Windows of a non-merging assigner that share a start share an end.
      if (cache.size >= WINDOW_CACHE_LIMIT) cache.clear();
      window = { start, end };
      cache.set(start, window);
    }
    return window;
  }

  private isWindowLate(end: number): boolean {
    return this.assigner.isEventTime && end - 1 + this.allowedLateness <= this.windowTimers.currentWatermark;
  }

  private isElementLate(timestamp: number): boolean {
    return (
      this.assigner.isEventTime && timestamp + this.allowedLateness <= this.windowTimers.currentWatermark
    );
  }

  private cleanupTime(window: TimeWindow): number {
    return this.assigner.isEventTime ? window.end - 1 + this.allowedLateness : window.end - 1;
  }

  private registerCleanupTimer(window: TimeWindow): void {
    const time = this.cleanupTime(window);
    if (time === Number.POSITIVE_INFINITY) return; // the global window is never cleaned up
    if (this.assigner.isEventTime) this.windowTimers.registerEventTimeTimer(window.start, time);
    else this.windowTimers.registerProcessingTimeTimer(window.start, time);
  }

  private deleteCleanupTimer(window: TimeWindow): void {
    const time = this.cleanupTime(window);
    if (this.assigner.isEventTime) this.windowTimers.deleteEventTimeTimer(window.start, time);
    else this.windowTimers.deleteProcessingTimeTimer(window.start, time);
  }

  private add(ws: WindowState, value: unknown, input: 0 | 1, timestamp: number): void {
    ws.contents = this.combine(ws.has, ws.contents, value, input, timestamp);
    ws.has = true;
  }

  /**
   * {@link combine} of an aggregate without evictor, on the aligned windows'
   * hot path (where an element is added to up to size / slide windows):
   * the accumulator with one more element, a fresh one when `fresh`.
   */
  private accumulate(acc: unknown, value: unknown, fresh = false): unknown {
    const agg = this.agg!;
    try {
      return agg.add(value, fresh ? agg.createAccumulator() : acc);
    } catch (error) {
      this.fail(error, 'aggregate');
    }
  }

  /**
   * A window's contents with one more element: the new reduced value or
   * accumulator, or the element list or join buffers (changed in place).
   */
  private combine(has: boolean, contents: unknown, value: unknown, input: 0 | 1, timestamp: number): unknown {
    if (this.evictor) {
      // An evicting window keeps every element with its timestamp; the function runs over them when it fires.
      const element: TimestampedValue<unknown> = {
        value,
        timestamp: timestamp === NO_TIMESTAMP ? undefined : timestamp,
      };
      if (!has) return [element];
      (contents as TimestampedValue<unknown>[]).push(element);
      return contents;
    }
    try {
      switch (this.mode) {
        case 'reduce':
          return has ? this.reduceFn!(contents, value) : value;
        case 'aggregate': {
          const agg = this.agg!;
          return agg.add(value, has ? contents : agg.createAccumulator());
        }
        case 'process':
          if (!has) return [value];
          (contents as unknown[]).push(value);
          return contents;
        case 'join': {
          const j = has ? (contents as JoinBuffers) : ({ l: [], r: [] } satisfies JoinBuffers);
          (input === 0 ? j.l : j.r).push(value);
          return j;
        }
      }
    } catch (error) {
      this.fail(error, this.mode);
    }
  }

  private mergeContents(target: WindowState, source: WindowState): void {
    if (!target.has) {
      target.contents = source.contents;
      target.has = true;
      return;
    }
    if (this.evictor) {
      for (const v of source.contents as unknown[]) (target.contents as unknown[]).push(v);
      return;
    }
    try {
      switch (this.mode) {
        case 'reduce':
          target.contents = this.reduceFn!(target.contents, source.contents);
          break;
        case 'aggregate': {
          const agg = this.agg!;
          if (typeof agg.merge !== 'function') {
            throw new OperatorUsageError(
              `Operator '${this.name}': session windows need AggregateFunction.merge`,
            );
          }
          target.contents = agg.merge(target.contents, source.contents);
          break;
        }
        case 'process':
          for (const v of source.contents as unknown[]) (target.contents as unknown[]).push(v);
          break;
        case 'join': {
          const t = target.contents as JoinBuffers;
          const s = source.contents as JoinBuffers;
          for (const v of s.l) t.l.push(v);
          for (const v of s.r) t.r.push(v);
          break;
        }
      }
    } catch (error) {
      this.fail(error, 'merge');
    }
  }

  private onTimer(timer: Timer, eventTime: boolean): void {
    const windows = this.table.byKey.get(timer.key);
    const ws = windows?.get(timer.ns);
    if (!ws || !windows) return;
    this.tctx.ws = ws;
    let result: TriggerResult;
    try {
      result = eventTime
        ? this.trigger.onEventTime(timer.time, ws.window, this.tctx)
        : this.trigger.onProcessingTime(timer.time, ws.window, this.tctx);
    } catch (error) {
      this.fail(error, eventTime ? 'trigger.onEventTime' : 'trigger.onProcessingTime');
    }
    if (result !== 'CONTINUE') this.handle(result, timer.key, ws);
    if (eventTime === this.assigner.isEventTime && timer.time === this.cleanupTime(ws.window)) {
      // An inlined built-in trigger's only timer (end - 1) is due no later than this one: nothing to clear.
      if (this.inlineTrigger === InlineTrigger.None) {
        this.tctx.ws = ws;
        try {
          this.trigger.clear(ws.window, this.tctx);
        } catch (error) {
          this.fail(error, 'trigger.clear');
        }
      }
      this.clearWindowFunction(ws);
      windows.delete(ws.window.start);
      if (windows.size === 0) this.table.byKey.delete(timer.key);
    }
  }

  /** The process function's `clear(ctx)` before a window and its `windowState()` go. */
  private clearWindowFunction(ws: WindowState): void {
    if (!this.processClear) return;
    this.tctx.ws = ws;
    try {
      this.processClear(this.tctx);
    } catch (error) {
      this.fail(error, 'window function clear');
    }
  }

  private handle(result: TriggerResult, key: Key, ws: WindowState): void {
    if ((result === 'FIRE' || result === 'FIRE_AND_PURGE') && ws.has) this.emit(key, ws);
    if (result === 'PURGE' || result === 'FIRE_AND_PURGE') {
      ws.has = false;
      ws.contents = undefined;
    }
  }

  private emit(key: Key, ws: WindowState): void {
    const ts = ws.window.end - 1;
    const out = this.output;
    const where = this.mode === 'join' ? (this.coGroupFn ? 'coGroup' : 'join') : 'window function';
    if (this.evictor) {
      this.emitEvicting(key, ws, ts);
      return;
    }
    try {
      switch (this.mode) {
        case 'join': {
          const { l, r } = ws.contents as JoinBuffers;
          if (this.coGroupFn) {
            this.collector.timestamp = ts;
            this.coGroupFn(l, r, this.collector);
            return;
          }
          const join = this.joinFn!;
          for (const left of l) for (const right of r) out.collect(join(left, right), ts);
          return;
        }
        case 'process':
          this.callProcess(key, ws, ws.contents as unknown[], ts);
          return;
        case 'reduce':
          this.emitResult(key, ws, ws.contents, ts);
          return;
        case 'aggregate':
          this.emitResult(key, ws, this.agg!.getResult(ws.contents), ts);
          return;
      }
    } catch (error) {
      this.fail(error, where);
    }
  }

  /**
   * Fires a window with an evictor (Flink's EvictingWindowOperator): evict
   * before, run the function over the remaining elements (reducing or
   * aggregating them now), evict after; what is left stays in the window.
   */
  private emitEvicting(key: Key, ws: WindowState, ts: number): void {
    const elements = ws.contents as TimestampedValue<unknown>[];
    const evictor = this.evictor!;
    this.tctx.ws = ws;
    try {
      evictor.evictBefore(elements, elements.length, ws.window, this.tctx);
    } catch (error) {
      this.fail(error, 'evictor.evictBefore');
    }
    const values: unknown[] = new Array<unknown>(elements.length);
    for (let i = 0; i < elements.length; i++) values[i] = elements[i]!.value;
    try {
      switch (this.mode) {
        case 'process':
          this.callProcess(key, ws, values, ts);
          break;
        case 'reduce': {
          if (values.length === 0) break;
          let acc = values[0];
          for (let i = 1; i < values.length; i++) acc = this.reduceFn!(acc, values[i]);
          this.emitResult(key, ws, acc, ts);
          break;
        }
        case 'aggregate': {
          const agg = this.agg!;
          let acc = agg.createAccumulator();
          for (const v of values) acc = agg.add(v, acc);
          this.emitResult(key, ws, agg.getResult(acc), ts);
          break;
        }
        case 'join':
          throw new OperatorUsageError(`Operator '${this.name}': a window join has no evictor`);
      }
    } catch (error) {
      this.fail(error, 'window function');
    }
    this.tctx.ws = ws;
    try {
      evictor.evictAfter(elements, elements.length, ws.window, this.tctx);
    } catch (error) {
      this.fail(error, 'evictor.evictAfter');
    }
  }

  /** Emits a reduced/aggregated window result, through the process function when there is one. */
  private emitResult(key: Key, ws: WindowState, result: unknown, ts: number): void {
    if (!this.processFn) {
      this.output.collect(result, ts);
      return;
    }
    this.single[0] = result;
    this.callProcess(key, ws, this.single, ts);
    this.single[0] = undefined;
  }

  private callProcess(key: Key, ws: WindowState, elements: readonly unknown[], ts: number): void {
    this.collector.timestamp = ts;
    this.tctx.ws = ws;
    const fn = this.processFn as unknown as (...args: unknown[]) => void;
    if (this.keyedProcess) fn(key, this.tctx, elements, this.collector);
    else fn(this.tctx, elements, this.collector);
  }

  /**
   * At the end of a bounded input, processing-time windows fire as if time
   * ran out (event-time windows already fired on the final +Infinity watermark).
   */
  override endInput(): void {
    if (!this.assigner.isEventTime && !this.assigner.isGlobal) {
      this.windowTimers.fireProcessingTimersUpTo(Number.POSITIVE_INFINITY);
    }
  }

  /** Number of keys with open windows (for tests and metrics). */
  numKeysWithWindows(): number {
    return this.tumbling?.numKeys() ?? (this.aligned ?? this.table).byKey.size;
  }

  /** Number of (key, window) pairs that wait to fire at their window's end, when windows are aligned (for tests). */
  numPendingAlignedWindows(): number {
    return (this.tumbling ?? this.aligned)?.numPending() ?? 0;
  }

  /** The keyed backend (for tests). */
  keyedBackend(): HeapKeyedStateBackend {
    return this.backend!;
  }
}
