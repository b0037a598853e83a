// shuffle() and global() partitioning, over worker threads of the local mini-cluster.
import { describe, expect, it } from 'vitest';
import { runLocalJob } from '../minicluster/mini-cluster.js';
import { fixtureJob } from '../testing/fixture-graphs.js';
import { consumersOf } from './topology.js';

async function partition(
  partitioning: 'SHUFFLE' | 'GLOBAL',
  n = 4000,
): Promise<{ v: number; sub: number }[]> {
  const r = await runLocalJob({
    ...fixtureJob('partition', { n, srcP: 2, dstP: 4, partitioning }),
    timeoutMs: 20_000,
  });
  expect(r.error).toBeUndefined();
  expect(r.status).toBe('FINISHED');
  return r.collected.out as { v: number; sub: number }[];
}

describe('SHUFFLE and GLOBAL partitioning', () => {
  it('SHUFFLE spreads records over every consumer at random, each record once', async () => {
    const out = await partition('SHUFFLE');
    expect(out.map((r) => r.v).sort((a, b) => a - b)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    const counts = [0, 0, 0, 0];
    for (const r of out) counts[r.sub]!++;
    // 1000 expected per consumer; a uniform draw of 4000 stays well within 700..1300.
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });

  it('GLOBAL sends every record to subtask 0 of the consumer', async () => {
    const out = await partition('GLOBAL');
    expect(out).toHaveLength(4000);
    expect(new Set(out.map((r) => r.sub))).toEqual(new Set([0]));
  });

  it('GLOBAL and SHUFFLE connect every producer to every consumer (the others of GLOBAL get the events and end)', () => {
    expect(consumersOf('GLOBAL', 1, 3, 4)).toEqual([0, 1, 2, 3]);
    expect(consumersOf('SHUFFLE', 1, 3, 4)).toEqual([0, 1, 2, 3]);
  });
});
