import { describe, expect, it } from 'vitest';
import { EXPONENTIAL_DELAY_DEFAULTS } from './checkpointing.js';
import { parseRestartStrategy } from './restart-strategy-syntax.js';

describe('parseRestartStrategy', () => {
  it('reads every strategy, with the defaults exponential-delay leaves out', () => {
    expect(parseRestartStrategy('none')).toEqual({ type: 'none' });
    expect(parseRestartStrategy(' fixed-delay:3:1000 ')).toEqual({
      type: 'fixed-delay',
      attempts: 3,
      delayMs: 1000,
    });
    expect(parseRestartStrategy('exponential-delay')).toEqual(EXPONENTIAL_DELAY_DEFAULTS);
    expect(parseRestartStrategy('exponential-delay:500:10000:2')).toEqual({
      ...EXPONENTIAL_DELAY_DEFAULTS,
      initialBackoffMs: 500,
      maxBackoffMs: 10_000,
      backoffMultiplier: 2,
    });
    expect(parseRestartStrategy('failure-rate:3:60000:1000')).toEqual({
      type: 'failure-rate',
      maxFailuresPerInterval: 3,
      intervalMs: 60_000,
      delayMs: 1000,
    });
  });

  it('names what is wrong', () => {
    expect(() => parseRestartStrategy('sometimes')).toThrow(
      /unknown restart strategy 'sometimes'; syntax: none \|/,
    );
    expect(() => parseRestartStrategy('fixed-delay:3')).toThrow(
      /'fixed-delay:3' has 1 parameter\(s\) for fixed-delay/,
    );
    expect(() => parseRestartStrategy('fixed-delay:x:1')).toThrow(
      /ATTEMPTS must be a non-negative integer \(got 'x'\)/,
    );
    expect(() => parseRestartStrategy('exponential-delay:100:50')).toThrow(
      /MAX_MS 50 is below INITIAL_MS 100/,
    );
    expect(() => parseRestartStrategy('exponential-delay:1:2:0.5')).toThrow(
      /MULTIPLIER must be a number >= 1/,
    );
  });
});
