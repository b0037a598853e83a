/**
 * Durations as milliseconds, Flink style: `Time.seconds(10)` reads better than
 * `10_000` in a window assigner.
 */
import type { Millis } from './functions.js';

/** Duration helpers; every function returns milliseconds. */
export const Time = {
  /** `n` milliseconds. */
  milliseconds(n: number): Millis {
    return n;
  },
  /** `n` seconds in milliseconds. */
  seconds(n: number): Millis {
    return n * 1000;
  },
  /** `n` minutes in milliseconds. */
  minutes(n: number): Millis {
    return n * 60_000;
  },
  /** `n` hours in milliseconds. */
  hours(n: number): Millis {
    return n * 3_600_000;
  },
  /** `n` days in milliseconds. */
  days(n: number): Millis {
    return n * 86_400_000;
  },
} as const;
