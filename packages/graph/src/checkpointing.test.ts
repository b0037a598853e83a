import { describe, expect, it } from 'vitest';
import {
  CHECKPOINTING_DEFAULTS,
  EXPONENTIAL_DELAY_DEFAULTS,
  effectiveRestartStrategy,
} from './checkpointing.js';
import { overrideCheckpointing } from './overrides.js';

describe('effectiveRestartStrategy', () => {
  it("takes the job's own, else the cluster default, else exponential-delay with checkpointing and none without", () => {
    const own = { type: 'fixed-delay' as const, attempts: 1, delayMs: 5 };
    const cluster = {
      type: 'failure-rate' as const,
      maxFailuresPerInterval: 2,
      intervalMs: 1000,
      delayMs: 1,
    };
    expect(effectiveRestartStrategy(own, false, cluster)).toEqual(own);
    expect(effectiveRestartStrategy(undefined, false, cluster)).toEqual(cluster);
    expect(effectiveRestartStrategy(undefined, true)).toEqual(EXPONENTIAL_DELAY_DEFAULTS);
    expect(effectiveRestartStrategy(undefined, false)).toEqual({ type: 'none' });
  });
});

describe('overrideCheckpointing', () => {
  it('is undefined while no interval is set or the interval is 0', () => {
    expect(overrideCheckpointing({}, undefined)).toBeUndefined();
    expect(overrideCheckpointing({ timeoutMs: 5 }, { timeoutMs: 7 })).toBeUndefined();
    expect(overrideCheckpointing({ intervalMs: 1000 }, { intervalMs: 0 })).toBeUndefined();
  });

  it("enables checkpointing with the program's settings and the defaults, the override's fields winning", () => {
    expect(overrideCheckpointing({ intervalMs: 1000, timeoutMs: 20 }, undefined)).toEqual({
      ...CHECKPOINTING_DEFAULTS,
      intervalMs: 1000,
      timeoutMs: 20,
    });
    expect(overrideCheckpointing({ timeoutMs: 20 }, { intervalMs: 500, mode: 'AT_LEAST_ONCE' })).toEqual({
      ...CHECKPOINTING_DEFAULTS,
      intervalMs: 500,
      timeoutMs: 20,
      mode: 'AT_LEAST_ONCE',
    });
  });
});
