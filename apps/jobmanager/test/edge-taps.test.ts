// Edge taps against real processes: a JobManager and two sandboxed TaskManagers run a keyed job; tapping
// its keyBy edge brings back records sampled at the producing subtasks' record writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, problems, startCluster, submitFile, until, type TestCluster } from './fixtures/cluster.js';
import { codeOf, rejection } from './rejection.js';

let c: TestCluster;
let jobId: string;

beforeAll(async () => {
  c = await startCluster();
  // 200 records/s per subtask of `{ k: x % 13, v: x }`, keyed by k: runs for minutes.
  jobId = await submitFile(c.client, fixture('slow-keyed.ts'), { parallelism: 4 });
  await until(
    () => c.client.jobs.get.query({ jobId }),
    (j) => j.status === 'RUNNING' && j.subtasks.every((s) => s.state === 'RUNNING'),
    { what: 'the job to run', timeoutMs: 60_000 },
  );
}, 120_000);
afterAll(async () => {
  await c?.client.jobs.cancel.mutate({ jobId }).catch(() => undefined);
  await c?.group.dispose();
});

describe('an edge tap', () => {
  it('samples the records crossing the keyBy edge at every producing subtask, bounded in rate', async () => {
    const job = await c.client.jobs.get.query({ jobId });
    const edge = job.edges.find((e) => e.partitioning === 'HASH');
    expect(edge, JSON.stringify(job.edges)).toBeDefined();
    const source = edge!.source;
    const first = await c.client.taps.poll.mutate({ jobId, edgeId: edge!.id, maxPerSecond: 5 });
    expect(first).toMatchObject({ jobId, edgeId: edge!.id, source, target: edge!.target, subtasks: 4 });
    const records: typeof first.records = [...first.records];
    let after = first.latestSeq;
    const started = Date.now();
    await until(
      async () => {
        const page = await c.client.taps.poll.mutate({ jobId, edgeId: edge!.id, after, maxPerSecond: 5 });
        records.push(...page.records);
        after = page.latestSeq;
        return new Set(records.map((r) => r.subtask)).size;
      },
      (subtasks) => subtasks === 4,
      { what: 'samples from all four producing subtasks', timeoutMs: 30_000, intervalMs: 500 },
    );
    const seconds = (Date.now() - started) / 1000 + 1;
    for (const r of records) {
      expect(r.vertexId).toBe(source);
      // What the map before the keyBy emits: the job's data, not a stand-in.
      const value = JSON.parse(r.preview) as { k: number; v: number };
      expect(Number.isInteger(value.v)).toBe(true);
      expect(value.k).toBe(value.v % 13);
      expect(r.truncated).toBe(false);
      // fromSequence's records carry no event timestamp.
      expect(r.timestamp).toBeNull();
    }
    // 5 per second and subtask at most (the job makes 200): the sample is bounded, not the stream.
    expect(records.length, problems(c)).toBeLessThanOrEqual(Math.ceil(seconds + 1) * 5 * 4);
    // Seq numbers grow without gaps in what one reader polled.
    const seqs = records.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((await c.client.taps.stop.mutate({ jobId, edgeId: edge!.id })).stopped).toBe(true);
    expect((await c.client.taps.stop.mutate({ jobId, edgeId: edge!.id })).stopped).toBe(false);
  }, 60_000);

  it('answers NOT_FOUND, saying why, for an unknown job or edge', async () => {
    const noJob = await rejection(c.client.taps.poll.mutate({ jobId: 'no-such-job', edgeId: 'e1-2' }));
    expect(codeOf(noJob)).toBe('NOT_FOUND');
    expect(String(noJob)).toContain('not running on this JobManager');
    const noEdge = await rejection(c.client.taps.poll.mutate({ jobId, edgeId: 'e98-99' }));
    expect(codeOf(noEdge)).toBe('NOT_FOUND');
    expect(String(noEdge)).toContain('its edges:');
    // Hostile input never reaches the taps: zod refuses it.
    expect(
      codeOf(await rejection(c.client.taps.poll.mutate({ jobId, edgeId: 'e1-2', maxPerSecond: 10_000 }))),
    ).toBe('BAD_REQUEST');
  });
});
