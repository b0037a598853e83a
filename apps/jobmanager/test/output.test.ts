// The live output of a job (`output.tail`): the newest records of its collect
// sinks, bounded, read incrementally; the collected result keeps the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadProgramFile } from '../src/client.js';
import { fixture, problems, startCluster, untilEnded, type TestCluster } from './fixtures/cluster.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({
    jobManagerArgs: [
      '--output-records-per-job',
      '25',
      '--collect-limit-per-job',
      '10',
      '--finished-job-linger-ms',
      '500',
    ],
  });
});
afterAll(() => c?.group.dispose());

describe('output.tail', () => {
  it('holds the newest records of a job, after the oldest went, and past the job’s end', async () => {
    const { artifact } = await uploadProgramFile(c.client, fixture('tiny-collect.ts'));
    const { jobId } = await c.client.jobs.submit.mutate({ artifactId: artifact.id, parallelism: 2 });
    expect((await untilEnded(c.client, jobId)).status, problems(c)).toBe('FINISHED');
    // The result keeps the first 10; the output the newest 25 of the 40.
    const { collections } = await c.client.jobs.collected.query({ jobId });
    expect(collections[0]?.records).toHaveLength(10);
    const tail = await c.client.output.tail.query({ jobId });
    expect(tail).toMatchObject({ live: true, latestSeq: 40, dropped: 15, sinks: ['out'], capacity: 25 });
    expect(tail.records.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 16));
    const xs = tail.records.map((r) => (JSON.parse(r.text) as { x: number }).x);
    expect(new Set(xs).size).toBe(25);
    expect(tail.records.every((r) => r.sink === 'out' && r.at > 0)).toBe(true);
    // Read incrementally: nothing after the latest.
    expect((await c.client.output.tail.query({ jobId, after: 40 })).records).toEqual([]);
    expect((await c.client.output.tail.query({ jobId, after: 38 })).records.map((r) => r.seq)).toEqual([
      39, 40,
    ]);
    // The job left memory; its output stays.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await c.client.output.tail.query({ jobId })).records).toHaveLength(25);
  });
});

describe('taskManagers.output and cluster.log', () => {
  it('hold what a print() job wrote on its TaskManager, its TaskManager’s log and the JobManager’s', async () => {
    const { artifact } = await uploadProgramFile(c.client, fixture('tiny-print.ts'));
    const { jobId } = await c.client.jobs.submit.mutate({ artifactId: artifact.id, parallelism: 1 });
    expect((await untilEnded(c.client, jobId)).status, problems(c)).toBe('FINISHED');
    const job = await c.client.jobs.get.query({ jobId });
    const tmId = job.subtasks[0]!.taskManager!.id;
    // Shipped with the TaskManager's next report (under a second).
    const printed = async (): Promise<string[]> =>
      (await c.client.taskManagers.output.query({ id: tmId, stream: 'stdout' })).records
        .filter((r) => r.sink === 'stdout' && r.text.startsWith('tiny: '))
        .map((r) => r.text);
    await expect.poll(printed, { timeout: 10_000 }).toHaveLength(30);
    expect(await printed()).toEqual(Array.from({ length: 30 }, (_, i) => `tiny: {"n":${i + 1}}`));
    // Read incrementally, as the dashboard does.
    const page = await c.client.taskManagers.output.query({ id: tmId, stream: 'stdout' });
    expect(
      (await c.client.taskManagers.output.query({ id: tmId, stream: 'stdout', after: page.latestSeq }))
        .records,
    ).toEqual([]);

    // Its log: JSON lines, the deployment of this job among them.
    const tmLog = await c.client.taskManagers.output.query({ id: tmId, stream: 'log' });
    const deployed = tmLog.records
      .map((r) => JSON.parse(r.text) as { msg: string; jobId?: string })
      .find((l) => l.jobId === jobId && l.msg === `Deploying job ${jobId}`);
    expect(deployed).toBeDefined();
    // The JobManager's own log has the submission.
    const jmLog = await c.client.cluster.log.query();
    const submitted = jmLog.records
      .map((r) => JSON.parse(r.text) as { msg: string; jobId?: string })
      .find((l) => l.jobId === jobId && l.msg === 'Job submitted');
    expect(submitted).toBeDefined();
    // An unknown TaskManager is NOT_FOUND.
    await expect(c.client.taskManagers.output.query({ id: 'no-such-tm', stream: 'log' })).rejects.toThrow();
  });
});
