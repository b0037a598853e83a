// The job store over a real database (PGlite, or the Postgres of FRESHET_TEST_DATABASE_URL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@freshet/db/testing';
import { fixtureJob } from '@freshet/runtime/testing';
import type { CompletedCheckpoint } from '@freshet/runtime';
import { ExecutionGraph } from './execution-graph.js';
import { prismaJobStore } from './prisma-job-store.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.prisma.artifact.create({
    data: { id: 'a'.repeat(64), fileName: 'job.ts', size: 1, bundleSha: 'b'.repeat(64), bundleSize: 1 },
  });
  await t.db.prisma.taskManager.create({
    data: { id: 'tm-a', host: '127.0.0.1', dataPort: 4000, controlAddress: '127.0.0.1:4000', slots: 2 },
  });
});
afterAll(async () => {
  await t?.dispose();
});

const at = (ms: number) => new Date(1_800_000_000_000 + ms);

function checkpoint(jobId: string, checkpointId: number, handles: string[]): CompletedCheckpoint {
  const subtasks = handles.map((handle, i) => ({
    vertexId: 'v1',
    subtask: i,
    handle,
    bytes: 100 + i,
    final: i === 1,
    // Subtask 0's snapshot is incremental: it refers to the piece of checkpoint 1.
    ...(i === 0 ? { pieces: [{ checkpointId: 1, handle: 'chk-1/v1-0.state', bytes: 50 }] } : {}),
    ackedAt: 1_800_000_000_500,
    alignmentMs: 3,
    syncMs: 2,
    asyncMs: 7,
  }));
  return {
    jobId,
    checkpointId,
    attempt: 1,
    triggeredAt: 1_800_000_000_000,
    completedAt: 1_800_000_001_000,
    states: new Map(
      subtasks.map((s) => [
        `v1#${s.subtask}`,
        { handle: s.handle, bytes: s.bytes, final: s.final, pieces: s.pieces },
      ]),
    ),
    durationMs: 1000,
    bytes: 201,
    fullBytes: 251,
    alignmentMs: 3,
    subtasks,
  };
}

describe('prismaJobStore', () => {
  it('keeps a job, its attempts and its status, and hands back the newest attempts of an unfinished job', async () => {
    const store = prismaJobStore(t.db);
    const jobGraph = fixtureJob('throwing', { p: 2 }).jobGraph;
    let n = 0;
    const graph = new ExecutionGraph({ jobId: 'job-1', jobGraph, newId: () => `job-1-e${++n}` });
    await store.createJob({
      id: 'job-1',
      name: 'stored',
      artifactId: 'a'.repeat(64),
      bundleSha256: 'b'.repeat(64),
      runtimeMode: 'STREAMING',
      planHash: jobGraph.planHash,
      jobGraph,
      program: { args: ['--x'], parallelism: 2 },
      restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 10 },
      createdAt: at(0),
      executions: graph.vertices().map((v) => v.current),
      message: 'submitted',
    });
    graph.slots = [
      { taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: 4000, slotIndex: 0 },
      { taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: 4000, slotIndex: 1 },
    ];
    await store.recordTransitions('job-1', graph.schedule(graph.vertices()), at(1));
    await store.setStatus(
      'job-1',
      'stored',
      graph.setStatus('RUNNING')!,
      'all running',
      { startedAt: at(2) },
      at(2),
    );
    const failed = graph.transition(graph.vertex('v1', 1)!, 'FAILED', 'TaskManager tm-a was lost')!;
    await store.recordTransitions('job-1', [failed], at(3));
    expect(await store.failureCauseOf(failed.execution.id)).toBe('TaskManager tm-a was lost');
    const { executions } = graph.restartRegions([1]);
    await store.createAttempt('job-1', executions, { attempt: 1, restarts: 1 }, at(4));

    const [stored] = await store.unfinishedJobs();
    expect(stored).toMatchObject({
      id: 'job-1',
      status: 'RUNNING',
      attempt: 1,
      restarts: 1,
      bundleSha256: 'b'.repeat(64),
      program: { args: ['--x'], parallelism: 2 },
      restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 10 },
    });
    expect(
      stored!.executions.map((e) => [e.vertexId, e.subtask, e.attempt, e.state, e.taskManagerId]),
    ).toEqual([
      ['v1', 0, 0, 'SCHEDULED', 'tm-a'],
      ['v1', 1, 1, 'CREATED', null],
    ]);
    const rows = await t.db.prisma.execution.findMany({
      where: { jobId: 'job-1' },
      orderBy: { attempt: 'asc' },
    });
    expect(rows).toHaveLength(3);
    const events = await t.db.prisma.jobEvent.findMany({ where: { jobId: 'job-1' }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.message)).toContain(
      "Job 'stored' switched from CREATED to RUNNING: all running",
    );
    expect(await store.jobStatus('job-1')).toBe('RUNNING');
    expect(await store.jobStatus('nope')).toBeNull();
  });

  it('records checkpoints with every acknowledgement, retains the newest and never reuses an id', async () => {
    const store = prismaJobStore(t.db);
    expect(await store.nextCheckpointId('job-1')).toBe(1);
    for (const id of [1, 2, 3]) {
      await store.checkpointTriggered(
        'job-1',
        { checkpointId: id, attempt: 1, triggeredAt: 1_800_000_000_000 },
        2,
      );
      await store.checkpointCompleted(
        'job-1',
        checkpoint('job-1', id, [`chk-${id}/v1-0.state`, `shared/final-v1-1-a1.state`]),
        `/c/chk-${id}/_metadata`,
      );
    }
    await store.checkpointTriggered(
      'job-1',
      { checkpointId: 4, attempt: 1, triggeredAt: 1_800_000_002_000 },
      2,
    );
    await store.checkpointTriggered(
      'job-1',
      { checkpointId: 5, attempt: 1, triggeredAt: 1_800_000_003_000 },
      2,
    );
    await store.checkpointFailed('job-1', 4, 'checkpoint 4 expired after 10 ms', at(10));
    await store.abandonCheckpoints('job-1', 'JobManager restarted', at(11));
    await store.checkpointsDiscarded('job-1', [1], at(12));

    const retained = await store.retainedCheckpoints('job-1', 5);
    expect(retained.map((c) => c.checkpointId)).toEqual([2, 3]);
    const latest = retained.at(-1)!;
    expect(latest).toMatchObject({
      checkpointId: 3,
      attempt: 1,
      bytes: 201,
      fullBytes: 251,
      durationMs: 1000,
      alignmentMs: 3,
    });
    expect([...latest.states]).toEqual([
      [
        'v1#0',
        {
          handle: 'chk-3/v1-0.state',
          bytes: 100,
          final: false,
          pieces: [{ checkpointId: 1, handle: 'chk-1/v1-0.state', bytes: 50 }],
        },
      ],
      ['v1#1', { handle: 'shared/final-v1-1-a1.state', bytes: 101, final: true }],
    ]);
    expect(latest.subtasks[0]).toMatchObject({
      alignmentMs: 3,
      syncMs: 2,
      asyncMs: 7,
      ackedAt: 1_800_000_000_500,
    });
    expect(await store.retainedCheckpoints('job-1', 1)).toHaveLength(1);
    const rows = await t.db.prisma.checkpoint.findMany({
      where: { jobId: 'job-1' },
      orderBy: { checkpointId: 'asc' },
    });
    expect(rows.map((r) => [r.checkpointId, r.status, r.failureCause, r.discardedAt !== null])).toEqual([
      [1, 'COMPLETED', null, true],
      [2, 'COMPLETED', null, false],
      [3, 'COMPLETED', null, false],
      [4, 'FAILED', 'checkpoint 4 expired after 10 ms', false],
      [5, 'FAILED', 'JobManager restarted', false],
    ]);
    expect(await store.nextCheckpointId('job-1')).toBe(6);
    // A checkpoint completed without barriers (every subtask final) was never recorded as triggered.
    await store.checkpointCompleted('job-1', checkpoint('job-1', 6, ['a', 'b']), '/c/chk-6/_metadata');
    expect((await store.retainedCheckpoints('job-1', 1))[0]?.checkpointId).toBe(6);
  });

  it("writes an ended job's results in the same update as its terminal status", async () => {
    const store = prismaJobStore(t.db);
    const metrics = { subtasks: {}, history: {}, accumulators: { lines: 2000 } };
    const collected = [{ collectId: 'out', records: [1, 2], total: 2, truncated: false }];
    await store.setStatus(
      'job-1',
      'stored',
      { from: 'RUNNING', to: 'FINISHED' },
      'all finished',
      { endedAt: at(9), archived: { collected, metrics } },
      at(9),
    );
    const row = await t.db.prisma.job.findUniqueOrThrow({ where: { id: 'job-1' } });
    expect(row).toMatchObject({ status: 'FINISHED', endedAt: at(9), collected, metrics });
  });
});
