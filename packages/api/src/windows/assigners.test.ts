import { describe, expect, it } from 'vitest';
import { Time } from '../time.js';
import {
  describeAssigner,
  EventTimeSessionWindows,
  GlobalWindows,
  isEventTimeAssigner,
  ProcessingTimeSessionWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from './assigners.js';

describe('window assigners', () => {
  it('are plain data', () => {
    expect(TumblingEventTimeWindows.of(Time.seconds(10))).toEqual({
      type: 'tumbling',
      time: 'event',
      sizeMs: 10_000,
      offsetMs: 0,
    });
    expect(TumblingProcessingTimeWindows.of(Time.minutes(1), 500)).toEqual({
      type: 'tumbling',
      time: 'processing',
      sizeMs: 60_000,
      offsetMs: 500,
    });
    expect(SlidingEventTimeWindows.of(10, 5)).toEqual({
      type: 'sliding',
      time: 'event',
      sizeMs: 10,
      slideMs: 5,
      offsetMs: 0,
    });
    expect(SlidingProcessingTimeWindows.of(10, 5, 2)).toEqual({
      type: 'sliding',
      time: 'processing',
      sizeMs: 10,
      slideMs: 5,
      offsetMs: 2,
    });
    expect(EventTimeSessionWindows.withGap(Time.milliseconds(30))).toEqual({
      type: 'session',
      time: 'event',
      gapMs: 30,
    });
    expect(ProcessingTimeSessionWindows.withGap(30)).toEqual({
      type: 'session',
      time: 'processing',
      gapMs: 30,
    });
    expect(GlobalWindows.create()).toEqual({ type: 'global' });
  });

  it('have Flink-like names', () => {
    expect(describeAssigner(TumblingEventTimeWindows.of(10_000))).toBe('TumblingEventTimeWindows(10000)');
    expect(describeAssigner(TumblingEventTimeWindows.of(10_000, 100))).toBe(
      'TumblingEventTimeWindows(10000, offset 100)',
    );
    expect(describeAssigner(SlidingProcessingTimeWindows.of(10, 5))).toBe(
      'SlidingProcessingTimeWindows(10, 5)',
    );
    expect(describeAssigner(EventTimeSessionWindows.withGap(7))).toBe('EventTimeSessionWindows(7)');
    expect(describeAssigner(GlobalWindows.create())).toBe('GlobalWindows');
    expect(isEventTimeAssigner(SlidingEventTimeWindows.of(10, 5))).toBe(true);
    expect(isEventTimeAssigner(GlobalWindows.create())).toBe(false);
  });

  it('refuse sizes and offsets that make no windows', () => {
    expect(() => TumblingEventTimeWindows.of(0)).toThrow(
      'TumblingEventTimeWindows.of size expects a duration in milliseconds > 0 (got 0)',
    );
    expect(() => TumblingEventTimeWindows.of(10, 10)).toThrow(
      'TumblingEventTimeWindows.of expects |offset| < size (got size 10, offset 10)',
    );
    expect(() => SlidingEventTimeWindows.of(10, 0)).toThrow(
      'SlidingEventTimeWindows.of slide expects a duration in milliseconds > 0 (got 0)',
    );
    expect(() => SlidingEventTimeWindows.of(10, 5, -5)).toThrow(
      'SlidingEventTimeWindows.of expects |offset| < slide',
    );
    expect(() => EventTimeSessionWindows.withGap(-1)).toThrow(
      'EventTimeSessionWindows.withGap gap expects a duration in milliseconds > 0 (got -1)',
    );
  });

  it('Time helpers return milliseconds', () => {
    expect([Time.milliseconds(5), Time.seconds(2), Time.minutes(3), Time.hours(1), Time.days(1)]).toEqual([
      5, 2000, 180_000, 3_600_000, 86_400_000,
    ]);
  });
});
