// An ended job's results outlive its JobManager (issue 12): killed with SIGKILL right after a job
// FINISHED (while the job still lingers in its memory) and started again on the same database, the
// JobManager serves the job's final accumulators, its subtasks' final user metrics and its
// collected records from the job's row, where they were written with the terminal status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixture,
  problems,
  startCluster,
  submitFile,
  untilEnded,
  type TestCluster,
} from './fixtures/cluster.js';

let c: TestCluster;
beforeAll(async () => {
  c = await startCluster();
});
afterAll(() => c?.group.dispose());

describe('a JobManager killed right after a job ended', () => {
  it('serves the final accumulators, user metrics and collected records after its restart', async () => {
    const jobId = await submitFile(c.client, fixture('word-stats.ts'), { parallelism: 4 });
    const before = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
    expect(before.status, problems(c)).toBe('FINISHED');
    expect(before.accumulators).toEqual({ lines: 2000, words: 6000 });
    const counts = async () =>
      (await c.client.jobs.collected.query({ jobId, collectId: 'counts' })).collections[0]?.records;
    const collected = await counts();
    // Five words of the fixture, 6000 in all.
    expect(collected).toHaveLength(5);

    // Well within the 10 s an ended job stays in memory before it leaves for the database.
    expect((await c.jm.kill()).signal).toBe('SIGKILL');
    await c.jm.restart();

    const after = await c.client.jobs.get.query({ jobId });
    expect(after.status).toBe('FINISHED');
    expect(after.accumulators).toEqual(before.accumulators);
    const words = (job: typeof after) =>
      job.subtasks
        .map((s) => s.metrics?.user.find((m) => m.name === 'words'))
        .map((m) => (m?.type === 'counter' ? m.value : 0));
    expect(words(after)).toEqual(words(before));
    expect(words(after).reduce((a, b) => a + b, 0)).toBe(6000);
    expect(await counts()).toEqual(collected);
  });
});
