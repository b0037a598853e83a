// Edge taps and CPU profiles against real processes: a JobManager and two sandboxed TaskManagers run a keyed
// job; tapping its keyBy edge brings back records sampled at the producing subtasks' record writers, and
// profiling a TaskManager brings back a flame tree of its job process's threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, problems, startCluster, submitFile, until, type TestCluster } from './fixtures/cluster.js';
import { codeOf, rejection } from './rejection.js';

let c: TestCluster;
let jobId: string;

beforeAll(async () => {
  c = await startCluster();
  // 200 records/s per subtask of `{ k: x % 13, v: x }`, keyed by k: runs for minutes.
  jobId = await submitFile(c.client, fixture('slow-keyed.ts'), { parallelism: 4 }).catch((err: unknown) => {
    throw new Error(`${String(err)} ${problems(c)}`);
  });
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

describe('a CPU profile', () => {
  it("samples every thread of the TaskManager's sandboxed job process, one profile at a time", async () => {
    const tm = c.tms[0].taskManagerId;
    const profiling = c.client.profiles.cpu.mutate({ taskManagerId: tm, durationMs: 2000 });
    // A second one while the first runs is refused, not queued.
    const second = await rejection(c.client.profiles.cpu.mutate({ taskManagerId: tm, durationMs: 1000 }));
    expect(codeOf(second)).toBe('CONFLICT');
    const { tree, durationMs } = await profiling;
    expect(durationMs).toBe(2000);
    expect(tree.name).toBe('TaskManager');
    const jobProcess = tree.children.find((n) => n.name === `job ${jobId}`);
    expect(jobProcess, JSON.stringify(tree).slice(0, 2000)).toBeDefined();
    // The process's main thread and the slots' worker threads, each with time sampled.
    const threads = jobProcess!.children.map((t) => t.name);
    expect(threads).toContain('main thread');
    expect(threads.filter((t) => t.startsWith('worker thread')).length).toBeGreaterThanOrEqual(1);
    for (const t of jobProcess!.children) expect(t.total).toBeGreaterThan(0);
    // About the profile's length per thread (V8 samples idle time too): nothing made up or lost.
    for (const t of jobProcess!.children) expect(t.total).toBeLessThan(2000 * 1.5);
    expect(tree.total).toBeGreaterThan(1000);
    // The frames are the job's code: somewhere below the threads is the runtime's record loop.
    const names = new Set<string>();
    const walk = (n: typeof tree): void => {
      names.add(n.name);
      n.children.forEach(walk);
    };
    walk(tree);
    expect(names.size).toBeGreaterThan(10);
  }, 60_000);

  it('rejects hostile input and unknown TaskManagers', async () => {
    const tm = c.tms[0].taskManagerId;
    for (const durationMs of [0, 999, 30_001, 1e9, 1.5])
      expect(codeOf(await rejection(c.client.profiles.cpu.mutate({ taskManagerId: tm, durationMs })))).toBe(
        'BAD_REQUEST',
      );
    const unknown = await rejection(
      c.client.profiles.cpu.mutate({ taskManagerId: 'tm-nobody', durationMs: 1000 }),
    );
    expect(codeOf(unknown)).toBe('NOT_FOUND');
  });
});
