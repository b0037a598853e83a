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
