/**
 * The default triggers of the window assigners (Flink's EventTimeTrigger,
 * ProcessingTimeTrigger and the global window's never-firing trigger). Custom
 * triggers arrive through `fns.trigger`.
 */
import type { TimeWindow, Trigger, TriggerContext, TriggerResult } from '@freshet/api';
import type { WindowAssigner } from './assigners.js';

/** Fires when the watermark passes the window's end; re-fires for late-but-allowed elements. */
export const defaultEventTimeTrigger: Trigger<unknown> = {
  onElement(_element: unknown, _timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    const max = window.end - 1;
    if (max <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(max);
    return 'CONTINUE';
  },
  onEventTime(time: number, window: TimeWindow): TriggerResult {
    return time === window.end - 1 ? 'FIRE' : 'CONTINUE';
  },
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  },
  canMerge(): boolean {
    return true;
  },
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    const max = window.end - 1;
    if (max > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(max);
  },
  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.end - 1);
  },
};

/** Fires when processing time passes the window's end. */
export const defaultProcessingTimeTrigger: Trigger<unknown> = {
  onElement(_element: unknown, _timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.end - 1);
    return 'CONTINUE';
  },
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  },
  onProcessingTime(time: number, window: TimeWindow): TriggerResult {
    return time >= window.end - 1 ? 'FIRE' : 'CONTINUE';
  },
  canMerge(): boolean {
    return true;
  },
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    const max = window.end - 1;
    if (max > ctx.getCurrentProcessingTime()) ctx.registerProcessingTimeTimer(max);
  },
  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.end - 1);
  },
};

/** The global window's default: never fires (a custom trigger is needed). */
export const neverTrigger: Trigger<unknown> = {
  onElement: () => 'CONTINUE',
  onEventTime: () => 'CONTINUE',
  onProcessingTime: () => 'CONTINUE',
  canMerge: () => true,
  onMerge: () => undefined,
  clear: () => undefined,
};

/** The trigger an assigner uses when no custom trigger is set. */
export function defaultTriggerFor(assigner: WindowAssigner): Trigger<unknown> {
  if (assigner.isGlobal) return neverTrigger;
  return assigner.isEventTime ? defaultEventTimeTrigger : defaultProcessingTimeTrigger;
}
