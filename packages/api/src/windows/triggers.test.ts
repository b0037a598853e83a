import { describe, expect, it } from 'vitest';
import type { TimeWindow, TriggerContext, ValueState, ValueStateDescriptor } from '../functions.js';
import {
  ContinuousEventTimeTrigger,
  CountTrigger,
  defaultTrigger,
  EventTimeTrigger,
  NeverTrigger,
  ProcessingTimeTrigger,
  PurgingTrigger,
} from './triggers.js';
import {
  EventTimeSessionWindows,
  GlobalWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from './assigners.js';

/** A TriggerContext for one key and window, recording timers. */
class FakeContext implements TriggerContext {
  readonly eventTimers = new Set<number>();
  readonly processingTimers = new Set<number>();
  readonly state = new Map<string, unknown>();
  constructor(
    public watermark = Number.NEGATIVE_INFINITY,
    public now = 0,
  ) {}
  getCurrentWatermark() {
    return this.watermark;
  }
  getCurrentProcessingTime() {
    return this.now;
  }
  registerEventTimeTimer(t: number) {
    this.eventTimers.add(t);
  }
  registerProcessingTimeTimer(t: number) {
    this.processingTimers.add(t);
  }
  deleteEventTimeTimer(t: number) {
    this.eventTimers.delete(t);
  }
  deleteProcessingTimeTimer(t: number) {
    this.processingTimers.delete(t);
  }
  getPartitionedState<T>(d: ValueStateDescriptor<T>): ValueState<T> {
    const state = this.state;
    return {
      value: () => (state.has(d.name) ? (state.get(d.name) as T) : d.defaultValue),
      update: (v: T) => {
        state.set(d.name, v);
      },
      clear: () => {
        state.delete(d.name);
      },
    };
  }
}
const fakeContext = (watermark?: number, now?: number) => new FakeContext(watermark, now);

const w: TimeWindow = { start: 0, end: 1000 };

describe('EventTimeTrigger', () => {
  const t = EventTimeTrigger.create();
  it('registers the window end and fires when that timer comes', () => {
    const ctx = fakeContext();
    expect(t.onElement('x', 10, w, ctx)).toBe('CONTINUE');
    expect([...ctx.eventTimers]).toEqual([999]);
    expect(t.onEventTime(500, w, ctx)).toBe('CONTINUE');
    expect(t.onEventTime(999, w, ctx)).toBe('FIRE');
    expect(t.onProcessingTime(999, w, ctx)).toBe('CONTINUE');
    t.clear(w, ctx);
    expect(ctx.eventTimers.size).toBe(0);
  });
  it('fires at once for a late element (watermark past the end)', () => {
    expect(t.onElement('x', 10, w, fakeContext(2000))).toBe('FIRE');
  });
  it('merges: re-registers the merged window end', () => {
    const ctx = fakeContext();
    expect(t.canMerge()).toBe(true);
    t.onMerge({ start: 0, end: 3000 }, ctx);
    expect([...ctx.eventTimers]).toEqual([2999]);
  });
});

describe('ProcessingTimeTrigger', () => {
  it('fires when the processing-time timer at the window end comes', () => {
    const t = ProcessingTimeTrigger.create();
    const ctx = fakeContext();
    expect(t.onElement('x', 0, w, ctx)).toBe('CONTINUE');
    expect([...ctx.processingTimers]).toEqual([999]);
    expect(t.onProcessingTime(999, w, ctx)).toBe('FIRE');
    expect(t.onEventTime(999, w, ctx)).toBe('CONTINUE');
    t.clear(w, ctx);
    expect(ctx.processingTimers.size).toBe(0);
  });
});

describe('CountTrigger', () => {
  it('fires every n elements and resets', () => {
    const t = CountTrigger.of(3);
    const ctx = fakeContext();
    expect([1, 2, 3, 4, 5, 6].map((i) => t.onElement(i, 0, w, ctx))).toEqual([
      'CONTINUE',
      'CONTINUE',
      'FIRE',
      'CONTINUE',
      'CONTINUE',
      'FIRE',
    ]);
    t.onElement(7, 0, w, ctx);
    t.clear(w, ctx);
    expect(ctx.state.size).toBe(0);
    expect(t.canMerge()).toBe(false);
    expect(String(t)).toBe('CountTrigger(3)');
  });
  it('refuses a non-positive count', () => {
    expect(() => CountTrigger.of(0)).toThrow('CountTrigger.of expects a positive integer (got 0)');
  });
});

describe('PurgingTrigger', () => {
  it('turns FIRE into FIRE_AND_PURGE and delegates the rest', () => {
    const t = PurgingTrigger.of(CountTrigger.of(2));
    const ctx = fakeContext();
    expect(t.onElement(1, 0, w, ctx)).toBe('CONTINUE');
    expect(t.onElement(2, 0, w, ctx)).toBe('FIRE_AND_PURGE');
    expect(t.canMerge()).toBe(false);
    expect(PurgingTrigger.of(EventTimeTrigger.create()).onEventTime(999, w, ctx)).toBe('FIRE_AND_PURGE');
    expect(PurgingTrigger.of(EventTimeTrigger.create()).canMerge()).toBe(true);
    expect(String(t)).toBe('PurgingTrigger(CountTrigger(2))');
  });
});

describe('ContinuousEventTimeTrigger', () => {
  it('fires every interval of event time, and at the window end', () => {
    const t = ContinuousEventTimeTrigger.of(300);
    const ctx = fakeContext();
    expect(t.onElement('x', 120, w, ctx)).toBe('CONTINUE');
    expect([...ctx.eventTimers].sort((a, b) => a - b)).toEqual([300, 999]);
    expect(t.onElement('y', 250, w, ctx)).toBe('CONTINUE');
    expect(t.onEventTime(300, w, ctx)).toBe('FIRE');
    expect(ctx.eventTimers.has(600)).toBe(true);
    expect(t.onEventTime(450, w, ctx)).toBe('CONTINUE');
    expect(t.onEventTime(600, w, ctx)).toBe('FIRE');
    expect(t.onEventTime(999, w, ctx)).toBe('FIRE');
    t.clear(w, ctx);
    expect(ctx.eventTimers.has(900)).toBe(false);
    expect(ctx.state.size).toBe(0);
  });
  it('aligns negative timestamps downwards', () => {
    const t = ContinuousEventTimeTrigger.of(100);
    const ctx = fakeContext();
    t.onElement('x', -150, { start: -1000, end: 0 }, ctx);
    expect(ctx.eventTimers.has(-100)).toBe(true);
  });
});

describe('defaultTrigger', () => {
  it('event time, processing time or never', () => {
    expect(defaultTrigger(TumblingEventTimeWindows.of(10))).toBe(EventTimeTrigger.create());
    expect(defaultTrigger(EventTimeSessionWindows.withGap(10))).toBe(EventTimeTrigger.create());
    expect(defaultTrigger(TumblingProcessingTimeWindows.of(10))).toBe(ProcessingTimeTrigger.create());
    const never = defaultTrigger(GlobalWindows.create());
    expect(never).toBe(NeverTrigger.create());
    const ctx = fakeContext();
    expect(never.onElement(1, 0, w, ctx)).toBe('CONTINUE');
    expect(never.onEventTime(Number.POSITIVE_INFINITY, w, ctx)).toBe('CONTINUE');
  });
});
