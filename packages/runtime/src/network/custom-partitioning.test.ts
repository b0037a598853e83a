// partitionCustom's CUSTOM partitioning over worker threads of the local mini-cluster.
import { describe, expect, it } from 'vitest';
import { runLocalJob } from '../minicluster/mini-cluster.js';
import { fixtureJob } from '../testing/fixture-graphs.js';
import { consumersOf } from './topology.js';

describe('CUSTOM partitioning', () => {
  it('sends each record to the consumer its partitioner picks, each record once', async () => {
    const n = 3000;
    const r = await runLocalJob({
      ...fixtureJob('partition', { n, srcP: 2, dstP: 3, partitioning: 'CUSTOM' }),
      timeoutMs: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    const out = r.collected.out as { v: number; sub: number }[];
    expect(out.map((x) => x.v).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    // The fixture's partitioner: v -> 2 - v mod 3.
    for (const x of out) expect(x.sub).toBe(2 - (x.v % 3));
  });

  it('fails the job, naming the operator, when the partitioner returns no valid index', async () => {
    const r = await runLocalJob({
      ...fixtureJob('partition', { n: 100, srcP: 1, dstP: 2, partitioning: 'CUSTOM', badPartition: 2 }),
      timeoutMs: 20_000,
    });
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toMatch(/operator 'tag' failed in custom partitioner.*returned 2.*\[0, 2\)/);
  });

  it('connects every producer to every consumer', () => {
    expect(consumersOf('CUSTOM', 0, 2, 3)).toEqual([0, 1, 2]);
  });
});
