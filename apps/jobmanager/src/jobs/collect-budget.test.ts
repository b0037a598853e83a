import { describe, expect, it } from 'vitest';
import { CollectBudget } from './collect-budget.js';

describe('CollectBudget', () => {
  it('keeps records in order while they fit, shares the budget across jobs and frees it when a job leaves', () => {
    const budget = new CollectBudget(100);
    const a = {};
    const b = {};
    // {"v":"xxxxxxxxxx"} is 18 bytes of JSON.
    const small = { v: 'x'.repeat(10) };
    expect(budget.take(a, [small, small, small], 3)).toBe(3);
    expect(budget.total).toBe(54);
    expect(budget.take(b, [small, { v: 'y'.repeat(100) }, small], 3)).toBe(1);
    expect(budget.total).toBe(72);
    expect(budget.take(b, [small, small], 1)).toBe(1);
    expect(budget.take(b, [small], 1)).toBe(0);
    budget.release(a);
    expect(budget.total).toBe(36);
    expect(budget.take(b, [small, small, small], 3)).toBe(3);
  });
});
