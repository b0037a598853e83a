import { describe, expect, it } from 'vitest';
import { HealthSampler } from './health.js';

describe('HealthSampler', () => {
  it('reports CPU used since the last sample and real memory numbers', () => {
    const sampler = new HealthSampler();
    const start = Date.now();
    const before = process.cpuUsage();
    const end = start + 60;
    let x = 0;
    while (Date.now() < end) x += Math.sqrt(x + 1);
    const used = process.cpuUsage(before);
    const expected = (used.user + used.system) / 1000 / (Date.now() - start);
    const busy = sampler.sample(1);
    sampler.stop();
    expect(x).toBeGreaterThan(0);
    // The sampler's interval is slightly longer than the loop's, so it sees a little less.
    expect(busy.cpu).toBeGreaterThan(expected * 0.5);
    expect(busy.cpu).toBeLessThan(expected * 1.5 + 0.1);
    expect(busy.heapUsed).toBeGreaterThan(0);
    expect(busy.rss).toBeGreaterThanOrEqual(busy.heapUsed);
    expect(busy.slotsUsed).toBe(1);
    expect(busy.uptimeSec).toBeGreaterThan(0);
    expect(busy.eventLoopDelayMs).toBeGreaterThanOrEqual(0);
  });
});
