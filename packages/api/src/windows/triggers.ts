/**
 * Built-in triggers (Flink's), as pure logic over the {@link TriggerContext}
 * the runtime provides. The runtime uses {@link defaultTrigger} when a window
 * has no custom trigger. Trigger objects keep no per-window data themselves
 * (that lives in the context's partitioned state), so one instance serves
 * every key and window.
 */
import { checkPositiveDuration, checkPositiveInt, describeValue, displayNameOf } from '../check.js';
import { ProgramDefinitionError } from '../errors.js';
import {
  maxTimestamp,
  ValueStateDescriptor,
  type Millis,
  type TimeWindow,
  type Trigger,
  type TriggerContext,
  type TriggerResult,
} from '../functions.js';
import type { WindowAssignerSpec } from '@freshet/graph';

/**
 * Fires once the watermark passes the end of the window; an element that
 * arrives after that (within the allowed lateness) fires the window again
 * at once. The default of event-time assigners.
 */
export class EventTimeTrigger implements Trigger<unknown> {
  /** Returns the (stateless, shareable) event-time trigger. */
  static create(): EventTimeTrigger {
    return EVENT_TIME;
  }
  /** @inheritdoc */
  onElement(_element: unknown, _timestamp: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    const end = maxTimestamp(window);
    if (end <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(end);
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onEventTime(time: Millis, window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return time === maxTimestamp(window) ? 'FIRE' : 'CONTINUE';
  }
  /** @inheritdoc */
  onProcessingTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** Merges with session windows. */
  canMerge(): boolean {
    return true;
  }
  /** Re-registers the merged window's end timer unless the watermark is already past it. */
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    const end = maxTimestamp(window);
    if (end > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(end);
  }
  /** @inheritdoc */
  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(maxTimestamp(window));
  }
  /** Display name used in node names. */
  toString(): string {
    return 'EventTimeTrigger';
  }
}
const EVENT_TIME = new EventTimeTrigger();

/** Fires when the wall clock passes the end of the window. The default of processing-time assigners. */
export class ProcessingTimeTrigger implements Trigger<unknown> {
  /** Returns the (stateless, shareable) processing-time trigger. */
  static create(): ProcessingTimeTrigger {
    return PROCESSING_TIME;
  }
  /** @inheritdoc */
  onElement(_element: unknown, _timestamp: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(maxTimestamp(window));
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onEventTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onProcessingTime(time: Millis, window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return time === maxTimestamp(window) ? 'FIRE' : 'CONTINUE';
  }
  /** Merges with session windows. */
  canMerge(): boolean {
    return true;
  }
  /** Re-registers the merged window's end timer unless that time has passed. */
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    const end = maxTimestamp(window);
    if (end > ctx.getCurrentProcessingTime()) ctx.registerProcessingTimeTimer(end);
  }
  /** @inheritdoc */
  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(maxTimestamp(window));
  }
  /** Display name used in node names. */
  toString(): string {
    return 'ProcessingTimeTrigger';
  }
}
const PROCESSING_TIME = new ProcessingTimeTrigger();

/** Never fires: the default of {@link GlobalWindows}, whose one window has no end. */
export class NeverTrigger implements Trigger<unknown> {
  /** Returns the (stateless, shareable) never-firing trigger. */
  static create(): NeverTrigger {
    return NEVER;
  }
  /** @inheritdoc */
  onElement(_element: unknown, _timestamp: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onEventTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onProcessingTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** Merging is trivially supported. */
  canMerge(): boolean {
    return true;
  }
  /** Nothing to merge. */
  onMerge(_window: TimeWindow, _ctx: TriggerContext): void {
    /* no timers, no state */
  }
  /** Nothing to clear. */
  clear(_window: TimeWindow, _ctx: TriggerContext): void {
    /* no timers, no state */
  }
  /** Display name used in node names. */
  toString(): string {
    return 'NeverTrigger';
  }
}
const NEVER = new NeverTrigger();

/**
 * Fires every `count` elements of a window (and resets its count). Does not
 * support merging windows: it keeps its count in value state, which cannot be
 * combined when sessions merge.
 */
export class CountTrigger implements Trigger<unknown> {
  /** Per-window element count. */
  readonly #count = new ValueStateDescriptor<number>('count-trigger', 0);

  private constructor(
    /** Number of elements after which the window fires. */
    readonly maxCount: number,
  ) {}

  /** A trigger that fires every `count` elements. */
  static of(count: number): CountTrigger {
    return new CountTrigger(checkPositiveInt('CountTrigger.of', count));
  }
  /** @inheritdoc */
  onElement(_element: unknown, _timestamp: Millis, _window: TimeWindow, ctx: TriggerContext): TriggerResult {
    const state = ctx.getPartitionedState(this.#count);
    const count = (state.value() ?? 0) + 1;
    if (count >= this.maxCount) {
      state.clear();
      return 'FIRE';
    }
    state.update(count);
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onEventTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onProcessingTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** Counts cannot be merged (see the class comment). */
  canMerge(): boolean {
    return false;
  }
  /** @inheritdoc */
  clear(_window: TimeWindow, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.#count).clear();
  }
  /** Display name used in node names. */
  toString(): string {
    return `CountTrigger(${this.maxCount})`;
  }
}

/** Turns every FIRE of the wrapped trigger into FIRE_AND_PURGE, so each firing sees only new elements. */
export class PurgingTrigger<T> implements Trigger<T> {
  private constructor(
    /** The trigger whose firings purge. */
    readonly nested: Trigger<T>,
  ) {}

  /** Wraps `trigger` so its firings also purge the window. */
  static of<T>(trigger: Trigger<T>): PurgingTrigger<T> {
    checkTrigger('PurgingTrigger.of', trigger);
    return new PurgingTrigger(trigger);
  }
  /** @inheritdoc */
  onElement(element: T, timestamp: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onElement(element, timestamp, window, ctx));
  }
  /** @inheritdoc */
  onEventTime(time: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onEventTime(time, window, ctx));
  }
  /** @inheritdoc */
  onProcessingTime(time: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onProcessingTime(time, window, ctx));
  }
  /** As the wrapped trigger. */
  canMerge(): boolean {
    return this.nested.canMerge?.() ?? false;
  }
  /** As the wrapped trigger. */
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    this.nested.onMerge?.(window, ctx);
  }
  /** @inheritdoc */
  clear(window: TimeWindow, ctx: TriggerContext): void {
    this.nested.clear(window, ctx);
  }
  /** Display name used in node names. */
  toString(): string {
    return `PurgingTrigger(${describeTrigger(this.nested)})`;
  }
}

function purging(result: TriggerResult): TriggerResult {
  return result === 'FIRE' ? 'FIRE_AND_PURGE' : result;
}

/**
 * Fires every `intervalMs` of event time while the window is open (early
 * results), and once more at the window's end. Does not support merging
 * windows (its next firing time is value state).
 */
export class ContinuousEventTimeTrigger implements Trigger<unknown> {
  /** Next periodic firing time of the window. */
  readonly #nextFire = new ValueStateDescriptor<number>('continuous-fire-time');

  private constructor(
    /** Event-time interval between firings. */
    readonly intervalMs: Millis,
  ) {}

  /** A trigger firing every `intervalMs` of event time (aligned to multiples of the interval). */
  static of(intervalMs: Millis): ContinuousEventTimeTrigger {
    return new ContinuousEventTimeTrigger(checkPositiveDuration('ContinuousEventTimeTrigger.of', intervalMs));
  }
  /** @inheritdoc */
  onElement(_element: unknown, timestamp: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    const end = maxTimestamp(window);
    if (end <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(end);
    const state = ctx.getPartitionedState(this.#nextFire);
    if (state.value() === undefined) {
      const start = timestamp - (((timestamp % this.intervalMs) + this.intervalMs) % this.intervalMs);
      const next = start + this.intervalMs;
      ctx.registerEventTimeTimer(next);
      state.update(next);
    }
    return 'CONTINUE';
  }
  /** @inheritdoc */
  onEventTime(time: Millis, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    if (time === maxTimestamp(window)) return 'FIRE';
    const state = ctx.getPartitionedState(this.#nextFire);
    if (state.value() !== time) return 'CONTINUE';
    const next = time + this.intervalMs;
    ctx.registerEventTimeTimer(next);
    state.update(next);
    return 'FIRE';
  }
  /** @inheritdoc */
  onProcessingTime(_time: Millis, _window: TimeWindow, _ctx: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }
  /** The next firing time cannot be merged (see the class comment). */
  canMerge(): boolean {
    return false;
  }
  /** @inheritdoc */
  clear(_window: TimeWindow, ctx: TriggerContext): void {
    const state = ctx.getPartitionedState(this.#nextFire);
    const next = state.value();
    if (next !== undefined) ctx.deleteEventTimeTimer(next);
    state.clear();
  }
  /** Display name used in node names. */
  toString(): string {
    return `ContinuousEventTimeTrigger(${this.intervalMs})`;
  }
}

/** The trigger a window uses when the program sets none: event time, processing time, or never (global). */
export function defaultTrigger(assigner: WindowAssignerSpec): Trigger<unknown> {
  if (assigner.type === 'global') return NEVER;
  return assigner.time === 'event' ? EVENT_TIME : PROCESSING_TIME;
}

/** Display name of a trigger for node names: its own `toString`, its class name, or `Trigger`. */
export function describeTrigger(trigger: Trigger<never>): string {
  return displayNameOf(trigger, 'Trigger');
}

/** Throws unless `value` has the methods of a {@link Trigger}. */
export function checkTrigger(what: string, value: unknown): void {
  const t = value as Partial<Record<keyof Trigger<unknown>, unknown>> | null;
  const missing =
    typeof t === 'object' && t !== null
      ? (['onElement', 'onEventTime', 'onProcessingTime', 'clear'] as const).filter(
          (m) => typeof t[m] !== 'function',
        )
      : null;
  if (missing === null || missing.length > 0) {
    throw new ProgramDefinitionError(
      `${what} expects a Trigger with onElement, onEventTime, onProcessingTime and clear (got ${describeValue(value)}${missing?.length ? `, missing ${missing.join(', ')}` : ''})`,
    );
  }
}
