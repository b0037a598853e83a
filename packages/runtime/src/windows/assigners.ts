/**
 * Window assigners for every {@link WindowAssignerSpec}. Windows are aligned
 * to the epoch plus `offsetMs` and half-open `[start, end)`. Non-merging
 * windows of one assigner all have the same size, so a window is identified
 * by its start alone: assigning writes starts into a reusable array instead
 * of allocating window objects per record.
 */
import type { WindowAssignerSpec } from '@freshet/graph';
import { OperatorUsageError } from '../operators/errors.js';

/** A window assigner, resolved from its spec. */
export interface WindowAssigner {
  /** Whether windows follow event time (else processing time; the global window: neither). */
  readonly isEventTime: boolean;
  /** Whether windows merge (session windows). */
  readonly isMerging: boolean;
  /** Whether this is the global window. */
  readonly isGlobal: boolean;
  /** Writes the starts of the windows `timestamp` belongs to into `starts`; returns how many. */
  assign(timestamp: number, starts: number[]): number;
  /** End (exclusive) of the freshly assigned window starting at `start`. */
  endOf(start: number): number;
}

/** `x mod m` for any sign of x (result in `[0, m)`). */
function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** Start of the epoch-aligned window of `size` (plus `offset`) that contains `timestamp`. */
export function windowStart(timestamp: number, offset: number, size: number): number {
  return timestamp - mod(timestamp - offset, size);
}

class TumblingAssigner implements WindowAssigner {
  readonly isMerging = false;
  readonly isGlobal = false;
  constructor(
    readonly isEventTime: boolean,
    private readonly size: number,
    private readonly offset: number,
  ) {}
  assign(timestamp: number, starts: number[]): number {
    starts[0] = windowStart(timestamp, this.offset, this.size);
    return 1;
  }
  endOf(start: number): number {
    return start + this.size;
  }
}

class SlidingAssigner implements WindowAssigner {
  readonly isMerging = false;
  readonly isGlobal = false;
  constructor(
    readonly isEventTime: boolean,
    private readonly size: number,
    private readonly slide: number,
    private readonly offset: number,
  ) {}
  assign(timestamp: number, starts: number[]): number {
    let n = 0;
    const lastStart = windowStart(timestamp, this.offset, this.slide);
    for (let start = lastStart; start > timestamp - this.size; start -= this.slide) starts[n++] = start;
    return n;
  }
  endOf(start: number): number {
    return start + this.size;
  }
}

class SessionAssigner implements WindowAssigner {
  readonly isMerging = true;
  readonly isGlobal = false;
  constructor(
    readonly isEventTime: boolean,
    private readonly gap: number,
  ) {}
  assign(timestamp: number, starts: number[]): number {
    starts[0] = timestamp;
    return 1;
  }
  endOf(start: number): number {
    return start + this.gap;
  }
}

class GlobalAssigner implements WindowAssigner {
  readonly isEventTime = false;
  readonly isMerging = false;
  readonly isGlobal = true;
  assign(_timestamp: number, starts: number[]): number {
    starts[0] = Number.NEGATIVE_INFINITY;
    return 1;
  }
  endOf(_start: number): number {
    return Number.POSITIVE_INFINITY;
  }
}

/** Creates the assigner of a spec, validating sizes. */
export function createWindowAssigner(spec: WindowAssignerSpec, operatorName: string): WindowAssigner {
  const bad = (what: string): never => {
    throw new OperatorUsageError(`Operator '${operatorName}': ${what}`);
  };
  switch (spec.type) {
    case 'tumbling':
      if (!(spec.sizeMs > 0)) bad(`tumbling window size must be > 0 (got ${spec.sizeMs})`);
      return new TumblingAssigner(spec.time === 'event', spec.sizeMs, spec.offsetMs);
    case 'sliding':
      if (!(spec.sizeMs > 0) || !(spec.slideMs > 0)) {
        bad(`sliding window size and slide must be > 0 (got ${spec.sizeMs}, ${spec.slideMs})`);
      }
      return new SlidingAssigner(spec.time === 'event', spec.sizeMs, spec.slideMs, spec.offsetMs);
    case 'session':
      if (!(spec.gapMs > 0)) bad(`session gap must be > 0 (got ${spec.gapMs})`);
      return new SessionAssigner(spec.time === 'event', spec.gapMs);
    case 'global':
      return new GlobalAssigner();
  }
}
