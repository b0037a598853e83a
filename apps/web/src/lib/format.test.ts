import { describe, expect, it } from 'vitest';
import {
  formatAge,
  formatAgo,
  formatBytes,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  formatWatermark,
  plural,
} from './format';

describe('formatAge', () => {
  it('reads sub-second and negative ages (clock skew) as now', () => {
    expect(formatAge(0)).toBe('now');
    expect(formatAge(999)).toBe('now');
    expect(formatAge(-5000)).toBe('now');
  });
  it('uses the two largest units', () => {
    expect(formatAge(4_200)).toBe('4s');
    expect(formatAge(125_000)).toBe('2m 5s');
    expect(formatAge((3 * 3600 + 12 * 60) * 1000)).toBe('3h 12m');
    expect(formatAge((2 * 86400 + 4 * 3600) * 1000)).toBe('2d 4h');
  });
});

describe('formatAgo', () => {
  it('says just now rather than "now ago"', () => {
    expect(formatAgo(200)).toBe('just now');
    expect(formatAgo(3_000)).toBe('3s ago');
  });
});

describe('plural', () => {
  it('agrees with the count', () => {
    expect(plural(1, 'slot')).toBe('1 slot');
    expect(plural(4, 'slot')).toBe('4 slots');
  });
});

describe('rates, counts, bytes, percentages', () => {
  it('stays compact', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(12.34)).toBe('12.3');
    expect(formatRate(980)).toBe('980');
    expect(formatRate(12_345)).toBe('12.3k');
    expect(formatRate(undefined)).toBe('–');
    expect(formatCount(4_100_000)).toBe('4.1M');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatPercent(0.374)).toBe('37%');
    expect(formatPercent(1.2)).toBe('100%');
    expect(formatPercent(null)).toBe('–');
  });
});

describe('formatWatermark', () => {
  it('shows none, a time of day, and the end of input', () => {
    expect(formatWatermark(null)).toBe('–');
    expect(formatWatermark(-Number.MAX_SAFE_INTEGER)).toBe('–');
    expect(formatWatermark(Date.UTC(2024, 0, 1, 12, 30, 5, 42))).toBe('12:30:05.042');
    expect(formatWatermark(Number.MAX_SAFE_INTEGER)).toBe('end');
  });
});

describe('formatDuration', () => {
  it('runs until now while there is no end', () => {
    expect(formatDuration('2024-01-01T00:00:00Z', '2024-01-01T00:00:04.500Z', null)).toBe('4s');
    expect(formatDuration('2024-01-01T00:00:00Z', null, Date.parse('2024-01-01T00:02:05Z'))).toBe('2m 5s');
    expect(formatDuration('2024-01-01T00:00:00Z', null, null)).toBe('…');
    expect(formatDuration(null, null, 0)).toBe('–');
  });
});
