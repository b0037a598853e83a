// Regression test for a flake: a job reported FINISHED before its collected records were in.
//
// The TaskManager's Reporter sends collected records before state updates, but
// it used to drain its queues one after the other: while a `reportStates` call
// was on the wire (say the subtasks' RUNNING), a job ending in milliseconds
// queued its records *and* its FINISHED states; the states loop picked the new
// states up at once and sent FINISHED ahead of the records, which only went out
// on the next pump. A client that read `jobs.collected` as soon as the job was
// FINISHED saw nothing. A tiny job, polled tightly, hits that window often.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadProgramFile } from '../src/client.js';
import { fixture, problems, startCluster, untilEnded, type TestCluster } from './fixtures/cluster.js';

const RUNS = 20;
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster();
});
afterAll(() => c?.group.dispose());

describe('collected records of a job that ends in milliseconds', () => {
  it(`are all in by the time the job is FINISHED (${RUNS} runs at parallelism 4 over both TaskManagers)`, async () => {
    const expected = Array.from({ length: 40 }, (_, i) => ({ x: i + 1, square: (i + 1) ** 2 }));
    const byX = (a: { x: number }, b: { x: number }): number => a.x - b.x;
    const short: string[] = [];
    const { artifact } = await uploadProgramFile(c.client, fixture('tiny-collect.ts'));
    for (let run = 0; run < RUNS; run++) {
      const { jobId } = await c.client.jobs.submit.mutate({ artifactId: artifact.id, parallelism: 4 });
      const job = await untilEnded(c.client, jobId, { intervalMs: 5 });
      // Read at once: nothing may still be on its way once the job says FINISHED.
      const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'out' });
      expect(job.status, problems(c)).toBe('FINISHED');
      const got = (collections[0]?.records ?? []) as { x: number; square: number }[];
      if (got.length !== expected.length)
        short.push(`run ${run}: ${got.length} of ${expected.length} records`);
      else expect([...got].sort(byX)).toEqual(expected);
      expect(new Set(job.subtasks.map((s) => s.taskManager?.id)).size).toBe(2);
    }
    expect(short).toEqual([]);
  });
});
