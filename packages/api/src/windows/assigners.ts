/**
 * Window assigners, as data ({@link WindowAssignerSpec}): the runtime computes
 * the windows of an element from the spec. Names and factories follow Flink.
 * Windows are aligned to the epoch plus `offsetMs` and half-open `[start, end)`.
 */
import { checkFinite, checkPositiveDuration } from '../check.js';
import { ProgramDefinitionError } from '../errors.js';
import type { Millis } from '../functions.js';
import type { TimeDomain, WindowAssignerSpec } from '@freshet/graph';

/** A tumbling window assigner spec. */
export type TumblingWindowSpec = Extract<WindowAssignerSpec, { type: 'tumbling' }>;
/** A sliding window assigner spec. */
export type SlidingWindowSpec = Extract<WindowAssignerSpec, { type: 'sliding' }>;
/** A session window assigner spec. */
export type SessionWindowSpec = Extract<WindowAssignerSpec, { type: 'session' }>;
/** The global window assigner spec. */
export type GlobalWindowSpec = Extract<WindowAssignerSpec, { type: 'global' }>;

function tumbling(time: TimeDomain, what: string, sizeMs: Millis, offsetMs: Millis): TumblingWindowSpec {
  checkPositiveDuration(`${what} size`, sizeMs);
  checkFinite(`${what} offset`, offsetMs);
  if (Math.abs(offsetMs) >= sizeMs) {
    throw new ProgramDefinitionError(
      `${what} expects |offset| < size (got size ${sizeMs}, offset ${offsetMs})`,
    );
  }
  return { type: 'tumbling', time, sizeMs, offsetMs };
}

function sliding(
  time: TimeDomain,
  what: string,
  sizeMs: Millis,
  slideMs: Millis,
  offsetMs: Millis,
): SlidingWindowSpec {
  checkPositiveDuration(`${what} size`, sizeMs);
  checkPositiveDuration(`${what} slide`, slideMs);
  checkFinite(`${what} offset`, offsetMs);
  if (Math.abs(offsetMs) >= slideMs) {
    throw new ProgramDefinitionError(
      `${what} expects |offset| < slide (got slide ${slideMs}, offset ${offsetMs})`,
    );
  }
  return { type: 'sliding', time, sizeMs, slideMs, offsetMs };
}

function session(time: TimeDomain, what: string, gapMs: Millis): SessionWindowSpec {
  checkPositiveDuration(`${what} gap`, gapMs);
  return { type: 'session', time, gapMs };
}

/** Fixed-size, non-overlapping event-time windows. */
export const TumblingEventTimeWindows = {
  /**
   * Windows of `sizeMs`, starting at multiples of `sizeMs` plus `offsetMs`.
   * @param offsetMs shifts the window starts, e.g. for time zones. @default 0
   */
  of(sizeMs: Millis, offsetMs: Millis = 0): TumblingWindowSpec {
    return tumbling('event', 'TumblingEventTimeWindows.of', sizeMs, offsetMs);
  },
} as const;

/** Fixed-size, non-overlapping processing-time windows. */
export const TumblingProcessingTimeWindows = {
  /**
   * Windows of `sizeMs` of wall-clock time.
   * @param offsetMs shifts the window starts. @default 0
   */
  of(sizeMs: Millis, offsetMs: Millis = 0): TumblingWindowSpec {
    return tumbling('processing', 'TumblingProcessingTimeWindows.of', sizeMs, offsetMs);
  },
} as const;

/** Fixed-size event-time windows that start every `slideMs` (an element belongs to `size / slide` windows). */
export const SlidingEventTimeWindows = {
  /**
   * Windows of `sizeMs` starting every `slideMs`.
   * @param offsetMs shifts the window starts. @default 0
   */
  of(sizeMs: Millis, slideMs: Millis, offsetMs: Millis = 0): SlidingWindowSpec {
    return sliding('event', 'SlidingEventTimeWindows.of', sizeMs, slideMs, offsetMs);
  },
} as const;

/** Fixed-size processing-time windows that start every `slideMs`. */
export const SlidingProcessingTimeWindows = {
  /**
   * Windows of `sizeMs` starting every `slideMs`.
   * @param offsetMs shifts the window starts. @default 0
   */
  of(sizeMs: Millis, slideMs: Millis, offsetMs: Millis = 0): SlidingWindowSpec {
    return sliding('processing', 'SlidingProcessingTimeWindows.of', sizeMs, slideMs, offsetMs);
  },
} as const;

/** Event-time sessions: a window closes after `gapMs` without elements of its key. */
export const EventTimeSessionWindows = {
  /** Sessions separated by at least `gapMs` of event time. */
  withGap(gapMs: Millis): SessionWindowSpec {
    return session('event', 'EventTimeSessionWindows.withGap', gapMs);
  },
} as const;

/** Processing-time sessions: a window closes after `gapMs` of wall-clock time without elements. */
export const ProcessingTimeSessionWindows = {
  /** Sessions separated by at least `gapMs` of processing time. */
  withGap(gapMs: Millis): SessionWindowSpec {
    return session('processing', 'ProcessingTimeSessionWindows.withGap', gapMs);
  },
} as const;

/** One window per key holding every element; it never fires unless a custom trigger says so. */
export const GlobalWindows = {
  /** The global window assigner. Pair it with a trigger (e.g. `CountTrigger.of(n)`). */
  create(): GlobalWindowSpec {
    return { type: 'global' };
  },
} as const;

/** Whether the assigner works in event time (the global window counts as neither). */
export function isEventTimeAssigner(assigner: WindowAssignerSpec): boolean {
  return assigner.type !== 'global' && assigner.time === 'event';
}

/** Flink-style display name, e.g. `TumblingEventTimeWindows(10000)`; used in node names. */
export function describeAssigner(assigner: WindowAssignerSpec): string {
  const domain = (time: TimeDomain): string => (time === 'event' ? 'EventTime' : 'ProcessingTime');
  const offset = (ms: number): string => (ms !== 0 ? `, offset ${ms}` : '');
  switch (assigner.type) {
    case 'tumbling':
      return `Tumbling${domain(assigner.time)}Windows(${assigner.sizeMs}${offset(assigner.offsetMs)})`;
    case 'sliding':
      return `Sliding${domain(assigner.time)}Windows(${assigner.sizeMs}, ${assigner.slideMs}${offset(assigner.offsetMs)})`;
    case 'session':
      return `${domain(assigner.time)}SessionWindows(${assigner.gapMs})`;
    case 'global':
      return 'GlobalWindows';
  }
}

/** Throws unless `value` is a window assigner spec (catches JavaScript programs passing something else). */
export function checkAssigner(what: string, value: unknown): WindowAssignerSpec {
  const spec = value as Partial<WindowAssignerSpec> | null | undefined;
  const ok =
    typeof spec === 'object' &&
    spec !== null &&
    (spec.type === 'global' ||
      ((spec.type === 'tumbling' || spec.type === 'sliding' || spec.type === 'session') &&
        (spec.time === 'event' || spec.time === 'processing')));
  if (!ok) {
    throw new ProgramDefinitionError(
      `${what} expects a window assigner such as TumblingEventTimeWindows.of(Time.seconds(10)) (got ${typeof value === 'object' && value !== null ? 'an object' : String(value)})`,
    );
  }
  return value as WindowAssignerSpec;
}
