// Issue 12 §1 on a real cluster (a JobManager and two TaskManager processes with one slot each):
// a BATCH job runs in stages joined by blocking exchanges. Stage 2 is deployed only once stage 1
// finished and its result partitions are complete; it reads them from both TaskManagers over the
// data plane; a task failing in stage 2 re-runs its region alone (stage 1 does not run again);
// a lost TaskManager's partitions are recomputed by re-running the producers that wrote them.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobDetails } from '../src/jobs/views.js';
import { adminClient, ensureBuilt, ProcessGroup, type TaskManagerProcess } from '../src/testing.js';
import { fixture, submitFile, until, untilEnded } from './fixtures/cluster.js';

const RECORDS = 50_000;
const KEYS = 97;

let group: ProcessGroup | undefined;
afterEach(async () => {
  await group?.dispose();
  group = undefined;
});

async function cluster(taskManagers: number) {
  await ensureBuilt();
  group = new ProcessGroup();
  const g = group;
  const database = await g.createDatabase();
  const jm = await g.startJobManager({
    ...database,
    heartbeatTimeoutMs: 3000,
    args: ['--cancel-timeout-ms', '3000'],
  });
  const dataDirs: string[] = [];
  const addTaskManager = async (): Promise<TaskManagerProcess> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'freshet-batch-tm-'));
    g.defer(() => rm(dataDir, { recursive: true, force: true }));
    dataDirs.push(dataDir);
    // No memory for partitions: every one spills to <data-dir>/work/partitions, where the test sees it.
    return g.startTaskManager({
      jobManagerUrl: jm.url,
      slots: 1,
      dataDir,
      args: ['--partition-memory-mib', '0'],
    });
  };
  const tms: TaskManagerProcess[] = [];
  for (let i = 0; i < taskManagers; i++) tms.push(await addTaskManager());
  return { jm, tms, dataDirs, client: adminClient(jm), addTaskManager };
}

/** Each key's count, exactly once per key. */
function expectExact(records: { k: number; n: number }[]): void {
  expect(records).toHaveLength(KEYS);
  const byKey = new Map(records.map((r) => [r.k, r.n]));
  expect(byKey.size).toBe(KEYS);
  for (let k = 0; k < KEYS; k++) expect(byKey.get(k)).toBe(Math.floor((RECORDS - 1 - k) / KEYS) + 1);
}

/** Epoch ms of the first transition of `vertexName`'s subtasks to `to`, and of the last one. */
function span(job: JobDetails, vertexPrefix: string, to: string): { first: number; last: number } {
  const ids = new Set(
    [...job.subtasks, ...job.priorAttempts]
      .filter((s) => s.vertexName.startsWith(vertexPrefix))
      .map((s) => s.executionId),
  );
  const at = job.events
    .filter((e) => e.kind === 'STATE' && e.toState === to && e.executionId !== null && ids.has(e.executionId))
    .map((e) => new Date(e.at).getTime());
  return { first: Math.min(...at), last: Math.max(...at) };
}

describe('BATCH jobs in stages with blocking exchanges', () => {
  it('runs a 2-stage job at parallelism 2 one stage at a time on 2 slots, then releases its partitions', async () => {
    const c = await cluster(2);
    const jobId = await submitFile(c.client, fixture('batch-stages.ts'), { parallelism: 2 });
    const partitions = (dir: string) => readdir(join(dir, 'work', 'partitions')).catch(() => [] as string[]);
    // Stage 1's partitions are written to each TaskManager's disk while the job runs...
    await Promise.all(
      c.dataDirs.map((dir) =>
        until(
          () => partitions(dir),
          (entries) => entries.includes(encodeURIComponent(jobId)),
          { timeoutMs: 60_000, intervalMs: 20, what: `partitions of ${jobId} in ${dir}` },
        ),
      ),
    );
    const job = await untilEnded(c.client, jobId, { timeoutMs: 90_000 });
    expect(job.status, JSON.stringify(job.exceptions)).toBe('FINISHED');
    const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'counts' });
    expectExact((collections[0]?.records ?? []) as { k: number; n: number }[]);
    // Both stages ran on both TaskManagers: stage 2 read partitions over TCP.
    expect(new Set(job.subtasks.map((s) => s.taskManager?.id)).size).toBe(2);
    // Stage 2 was deployed only after every subtask of stage 1 finished.
    const stage1 = span(job, 'Source', 'FINISHED');
    const stage2 = span(job, 'Keyed', 'SCHEDULED');
    expect(stage2.first).toBeGreaterThanOrEqual(stage1.last);
    expect(job.restarts).toBe(0);
    // ...and released on every TaskManager once the job ended.
    for (const dir of c.dataDirs) {
      await until(
        () => partitions(dir),
        (entries) => !entries.includes(encodeURIComponent(jobId)),
        { what: `the partitions of ${jobId} to be gone from ${dir}` },
      );
    }
  }, 180_000);

  it('re-runs only the failed region of stage 2, reading the finished stage 1 partitions again', async () => {
    const c = await cluster(2);
    const jobId = await submitFile(c.client, fixture('batch-stages.ts'), {
      parallelism: 2,
      args: ['fail-once'],
    });
    const job = await untilEnded(c.client, jobId, { timeoutMs: 90_000 });
    expect(job.status, JSON.stringify(job.exceptions)).toBe('FINISHED');
    expect(job.exceptions.map((e) => e.message).join('\n')).toContain('failing once in stage 2');
    expect(job.restarts).toBe(1);
    const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'counts' });
    const records = (collections[0]?.records ?? []) as {
      k: number;
      n: number;
      sub: number;
      attempt: number;
    }[];
    expectExact(records);
    // Subtask 1 of stage 2 wrote its keys from its second attempt; subtask 0 from its first.
    expect(new Set(records.filter((r) => r.sub === 1).map((r) => r.attempt))).toEqual(new Set([1]));
    expect(new Set(records.filter((r) => r.sub === 0).map((r) => r.attempt))).toEqual(new Set([0]));
    // Stage 1 ran once: its subtasks are still attempt 0 and its accumulator counted every record once.
    const sources = job.subtasks.filter((s) => s.vertexName.startsWith('Source'));
    expect(sources.map((s) => [s.attempt, s.state])).toEqual([
      [0, 'FINISHED'],
      [0, 'FINISHED'],
    ]);
    expect(job.accumulators).toEqual({ stage1: RECORDS });
    expect(job.events.map((e) => e.message)).toContain(
      'Restarting 1 region (1 subtasks) as attempt 1 from scratch',
    );
  }, 180_000);

  // `slow-process`: stage 2 reads its input grouped by key and emits its results key by key over
  // seconds at the end, so the lost TaskManager takes an attempt that already emitted some.
  it.each(['slow', 'slow-process'])(
    're-runs the producers whose partitions a lost TaskManager took, and only those (%s)',
    async (variant) => {
      const c = await cluster(2);
      const jobId = await submitFile(c.client, fixture('batch-stages.ts'), {
        parallelism: 2,
        args: [variant],
      });
      const before = await until(
        () => c.client.jobs.get.query({ jobId }),
        (j) =>
          j.subtasks.filter((s) => s.vertexName.startsWith('Keyed') && s.state === 'RUNNING').length === 2,
        { timeoutMs: 60_000, intervalMs: 20, what: 'stage 2 running' },
      );
      const victim = c.tms[1]!;
      const survivor = c.tms[0]!.taskManagerId;
      const onSurvivor = before.subtasks.find(
        (s) => s.vertexName.startsWith('Source') && s.taskManager?.id === survivor,
      )!;
      const onVictim = before.subtasks.find(
        (s) => s.vertexName.startsWith('Source') && s.taskManager?.id === victim.taskManagerId,
      )!;
      await victim.kill();
      // A new TaskManager replaces the lost one's slot.
      await c.addTaskManager();
      const job = await untilEnded(c.client, jobId, { timeoutMs: 120_000 });
      expect(job.status, JSON.stringify(job.exceptions)).toBe('FINISHED');
      const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'counts' });
      expectExact((collections[0]?.records ?? []) as { k: number; n: number }[]);
      const source = (subtask: number) =>
        job.subtasks.find((s) => s.vertexName.startsWith('Source') && s.subtaskIndex === subtask)!;
      // The producer on the lost TaskManager ran again; the one whose partitions survived did not.
      expect(source(onVictim.subtaskIndex).attempt).toBeGreaterThan(0);
      expect(source(onSurvivor.subtaskIndex).attempt).toBe(0);
      expect(job.exceptions.map((e) => e.message).join('\n')).toContain(
        'result partitions of 1 finished subtask',
      );
    },
    240_000,
  );
});
