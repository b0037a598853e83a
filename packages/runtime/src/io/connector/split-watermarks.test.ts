import { describe, expect, it } from 'vitest';
import { SplitWatermarks } from './split-watermarks.js';

describe('SplitWatermarks', () => {
  it('says nothing before the splits are known, and never +Infinity for a subtask without splits', () => {
    const w = new SplitWatermarks({ outOfOrdernessMs: 0, idlenessMs: 100 });
    // The first discovery still runs: not idle, no watermark.
    expect(w.tick(0, false)).toEqual({});
    expect(w.tick(200, false)).toEqual({});
    // Discovery found nothing for this subtask: it is idle (it must not hold back the job), still no watermark.
    expect(w.tick(300, true)).toEqual({ idle: true });
  });

  it('is held back by an assigned split before its first record, until that split goes idle', () => {
    const w = new SplitWatermarks({ outOfOrdernessMs: 0, idlenessMs: 500 });
    const a = w.clock('a', 0);
    w.clock('b', 0); // assigned, nothing read yet: it may hold the earliest records
    a.maxTimestamp = 10_000;
    a.recordsSinceTick = 5;
    expect(w.tick(100)).toEqual({});
    a.recordsSinceTick = 1;
    expect(w.tick(600)).toEqual({ watermark: 9_999 });
  });
});
