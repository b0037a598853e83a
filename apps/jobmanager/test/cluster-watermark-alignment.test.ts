// Watermark alignment across TaskManager processes (issue 12): the aligned sources of a job run on
// different TaskManagers, report their watermarks to the JobManager, and the fast one pauses while
// it is ahead of the slow one by more than the drift; every record still arrives once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, submitFile, untilEnded } from './fixtures/cluster.js';
import { startRecoveryCluster, type RecoveryCluster } from './fixtures/recovery.js';

let c: RecoveryCluster;
beforeAll(async () => {
  // One slot each: subtask 0 of every source on one process, subtask 1 on the other.
  c = await startRecoveryCluster({ taskManagers: 2 });
});
afterAll(() => c?.group.dispose());

const N = 5000;
type Out = { src: string; v: number; lead: number };

async function run(arg: 'aligned' | 'free') {
  const jobId = await submitFile(c.client, fixture('aligned-sources.ts'), { parallelism: 2, args: [arg] });
  const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
  expect(job.status).toBe('FINISHED');
  // Each source's two subtasks on the two TaskManagers: the group's minimum spans both processes.
  for (const name of ['slow', 'fast']) {
    const tms = job.subtasks.filter((s) => s.vertexName.endsWith(name)).map((s) => s.taskManager?.id);
    expect(new Set(tms).size).toBe(2);
  }
  const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'out' });
  const out = (collections[0]?.records ?? []) as Out[];
  for (const src of ['slow', 'fast'])
    expect(
      out
        .filter((r) => r.src === src)
        .map((r) => r.v)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: N }, (_, i) => i));
  const paused = job.subtasks
    .filter((s) => s.vertexName.endsWith('fast'))
    .map((s) => s.metrics?.watermarkAlignment?.pausedMs);
  return { lead: Math.max(...out.filter((r) => r.src === 'fast').map((r) => r.lead)), paused };
}

describe('watermark alignment on a cluster', () => {
  it('the fast source waits for the slow one on another TaskManager', async () => {
    // Free, the fast source is through most of its 5 s of event time while the slow one has barely
    // begun (about 3.5 s ahead, measured).
    const free = await run('free');
    expect(free.lead).toBeGreaterThan(2_500);
    expect(free.paused).toEqual([undefined, undefined]);
    // Aligned: the 500 ms drift, plus one source batch (512 records) and the exchange's slack
    // (about 1 s, measured).
    const aligned = await run('aligned');
    expect(aligned.lead).toBeLessThan(2_000);
    // Both fast subtasks waited, for a good part of the slow source's 2 s.
    for (const ms of aligned.paused) expect(ms).toBeGreaterThan(300);
  });
});
