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
import { codeOf, rejection } from './rejection.js';

const RUNS = 20;
let c: TestCluster;

beforeAll(async () => {
  // Ended jobs leave memory soon, so the second test reads them from the database.
  c = await startCluster({ jobManagerArgs: ['--finished-job-linger-ms', '2000'] });
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
    // Each run starts a sandboxed job process on both TaskManagers: about a second per run on a quiet machine.
  }, 180_000);

  it('are still there, with the metrics, once the ended job left memory for the database', async () => {
    const { artifact } = await uploadProgramFile(c.client, fixture('tiny-collect.ts'));
    const { jobId } = await c.client.jobs.submit.mutate({ artifactId: artifact.id, parallelism: 2 });
    const mark = c.jm.lineCount;
    expect((await untilEnded(c.client, jobId)).status).toBe('FINISHED');
    // Late metrics may still land while the job lingers in memory; then it leaves.
    await new Promise((r) => setTimeout(r, 1_500));
    const inMemory = await c.client.jobs.get.query({ jobId });
    const records = (j: typeof inMemory): number[] => j.subtasks.map((s) => s.metrics?.recordsOut ?? -1);
    await c.jm.waitForLog(
      (l) => l.msg.startsWith('Ended job left memory') && l.jobId === jobId,
      10_000,
      mark,
    );
    const { collections } = await c.client.jobs.collected.query({ jobId });
    expect(collections[0]?.records).toHaveLength(40);
    const fromDatabase = await c.client.jobs.get.query({ jobId });
    expect(records(fromDatabase)).toEqual(records(inMemory));
    expect(fromDatabase.vertices.map((v) => v.metrics.recordsOut)).toEqual(
      inMemory.vertices.map((v) => v.metrics.recordsOut),
    );
    const metrics = await c.client.jobs.metrics.query({ jobId });
    expect(metrics.jobId).toBe(jobId);
    expect(codeOf(await rejection(c.client.jobs.cancel.mutate({ jobId })))).toBe('CONFLICT');
  });
});
