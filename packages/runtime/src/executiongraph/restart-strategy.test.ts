import { describe, expect, it } from 'vitest';
import { createRestartStrategy } from './restart-strategy.js';

describe('restart strategies', () => {
  it('none never restarts', () => {
    const s = createRestartStrategy({ type: 'none' });
    expect(s.onFailure(0)).toEqual({ restart: false, reason: 'the restart strategy is none' });
  });

  it('fixed-delay restarts `attempts` times with the same delay, then gives up', () => {
    const s = createRestartStrategy({ type: 'fixed-delay', attempts: 2, delayMs: 250 });
    expect(s.onFailure(1000)).toEqual({ restart: true, delayMs: 250 });
    s.onRunning(1250);
    expect(s.onFailure(5000)).toEqual({ restart: true, delayMs: 250 });
    expect(s.onFailure(9000)).toEqual({ restart: false, reason: 'fixed-delay: all 2 restart attempts used' });
    const zero = createRestartStrategy({ type: 'fixed-delay', attempts: 0, delayMs: 1 });
    expect(zero.onFailure(0).restart).toBe(false);
  });

  it('exponential-delay multiplies the wait up to the maximum', () => {
    const s = createRestartStrategy(
      {
        type: 'exponential-delay',
        initialBackoffMs: 100,
        maxBackoffMs: 1000,
        backoffMultiplier: 2,
        resetBackoffThresholdMs: 60_000,
        jitterFactor: 0,
      },
      { random: () => 0.5 },
    );
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      const d = s.onFailure(now);
      if (!d.restart) throw new Error('gave up');
      delays.push(d.delayMs);
      now += d.delayMs + 10;
      s.onRunning(now);
      now += 10;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('exponential-delay starts again at the initial wait after a stable period since the job ran again', () => {
    const spec = {
      type: 'exponential-delay' as const,
      initialBackoffMs: 100,
      maxBackoffMs: 10_000,
      backoffMultiplier: 3,
      resetBackoffThresholdMs: 5000,
      jitterFactor: 0,
    };
    const s = createRestartStrategy(spec);
    expect(s.onFailure(0)).toEqual({ restart: true, delayMs: 100 });
    s.onRunning(100);
    expect(s.onFailure(4000)).toEqual({ restart: true, delayMs: 300 });
    s.onRunning(4300);
    // Ran 5000 ms without failing: back to the initial wait.
    expect(s.onFailure(9300)).toEqual({ restart: true, delayMs: 100 });
    // Without onRunning the stable period counts from the previous failure.
    expect(s.onFailure(9400)).toEqual({ restart: true, delayMs: 300 });
    expect(s.onFailure(20_000)).toEqual({ restart: true, delayMs: 100 });
  });

  it('exponential-delay varies each wait by up to ±jitterFactor of it', () => {
    const spec = {
      type: 'exponential-delay' as const,
      initialBackoffMs: 1000,
      maxBackoffMs: 10_000,
      backoffMultiplier: 1,
      resetBackoffThresholdMs: 1_000_000,
      jitterFactor: 0.1,
    };
    const low = createRestartStrategy(spec, { random: () => 0 });
    const high = createRestartStrategy(spec, { random: () => 0.999_999 });
    const mid = createRestartStrategy(spec, { random: () => 0.5 });
    expect(low.onFailure(0)).toEqual({ restart: true, delayMs: 900 });
    expect(high.onFailure(0)).toEqual({ restart: true, delayMs: 1100 });
    expect(mid.onFailure(0)).toEqual({ restart: true, delayMs: 1000 });
  });

  it('failure-rate restarts while the failures within the interval stay within the limit', () => {
    const s = createRestartStrategy({
      type: 'failure-rate',
      maxFailuresPerInterval: 2,
      intervalMs: 10_000,
      delayMs: 50,
    });
    expect(s.onFailure(0)).toEqual({ restart: true, delayMs: 50 });
    expect(s.onFailure(4000)).toEqual({ restart: true, delayMs: 50 });
    // The failure at 0 is more than 10 s ago: this is the second failure within the interval.
    expect(s.onFailure(12_000)).toEqual({ restart: true, delayMs: 50 });
    expect(s.onFailure(13_000)).toEqual({
      restart: false,
      reason: 'failure-rate: 3 failures within 10000 ms (at most 2 allowed)',
    });
  });
});
