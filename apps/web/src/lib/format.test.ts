import { describe, expect, it } from 'vitest';
import { formatAge, formatAgo, plural } from './format';

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
