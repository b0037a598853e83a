// A chain shaped like a tree (an operator chained with several consumers) runs fused in one task.
import { describe, expect, it } from 'vitest';
import { runLocalJob } from '../minicluster/mini-cluster.js';
import { fixtureJob } from '../testing/fixture-graphs.js';

describe('tree-shaped chains', () => {
  it('a fan-out inside a chain feeds every branch, in one vertex, over worker threads', async () => {
    const n = 5000;
    const job = fixtureJob('fanOut', { n, p: 2 });
    expect(job.jobGraph.vertices.map((v) => v.name)).toEqual([
      'seq -> toRec -> (evens -> even, negate -> neg)',
    ]);
    expect(job.jobGraph.edges).toEqual([]);
    const r = await runLocalJob({ ...job, timeoutMs: 30_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    const even = (r.collected.even as { v: number }[]).map((x) => x.v).sort((a, b) => a - b);
    const negated = (r.collected.neg as { v: number }[]).map((x) => -x.v).sort((a, b) => a - b);
    expect(even).toEqual(Array.from({ length: n / 2 }, (_, i) => i * 2));
    expect(negated).toEqual(Array.from({ length: n }, (_, i) => i));
    // Nothing crossed a channel: both branches ran in the source's task.
    expect(r.metrics.subtasks.every((s) => s.recordsOut === 0)).toBe(true);
  });
});
