// Reports that name no subtask, from a TaskManager that does run part of the
// job: a real JobManager process and fake TaskManagers speaking the real
// protocol. Collected records count only from the TaskManager running the
// collect sink, and a lost peer only when that peer runs the same attempt —
// a TaskManager of one job cannot inject records into another subtask's
// sink, nor get an unrelated TaskManager declared lost; and what is kept is
// bounded in bytes, not only in records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskManagerCommand } from '@freshet/protocol';
import type { JobManagerClient } from '../src/client.js';
import { adminClient, ensureBuilt, ProcessGroup, type JobManagerProcess } from '../src/testing.js';
import { FakeTaskManager } from './fake-taskmanager.js';

// The map runs at parallelism 2 (one subtask per TaskManager), the collect sink at 1 (on one of them).
const PROGRAM = `import { defineProgram } from '@freshet/api';
export default defineProgram((env) => {
  env.fromSequence(1, 40).map((x: number) => ({ x })).collect('out').setParallelism(1);
});
`;

/** Collected bytes the JobManager keeps in this test: a few small records, not a huge one. */
const COLLECT_BYTES = 4096;

const group = new ProcessGroup();
let jm: JobManagerProcess;
let client: JobManagerClient;
const fakes: FakeTaskManager[] = [];
let nextPort = 42100;

beforeAll(async () => {
  await ensureBuilt();
  const database = await group.createDatabase();
  jm = await group.startJobManager({
    ...database,
    heartbeatTimeoutMs: 4000,
    args: ['--collect-limit-bytes', String(COLLECT_BYTES)],
  });
  client = adminClient(jm);
}, 300_000);

afterAll(async () => {
  for (const f of fakes) f.silence();
  await group.dispose();
});

async function fake(slots: number): Promise<FakeTaskManager> {
  const tm = await FakeTaskManager.start(client, jm.url, slots, nextPort++, jm.joinSecret);
  fakes.push(tm);
  return tm;
}

type Deploy = Extract<TaskManagerCommand, { type: 'deploy' }>;

describe('reports that name no subtask', () => {
  it('count only from the TaskManager that runs the collect sink, or that shares the attempt with the peer', async () => {
    const a = await fake(1);
    const b = await fake(1);
    const fd = new FormData();
    fd.append('file', new Blob([PROGRAM]), 'fenced.ts');
    const { artifact } = await client.artifacts.upload.mutate(fd);
    const { jobId } = await client.jobs.submit.mutate({ artifactId: artifact.id, parallelism: 2 });
    const isDeploy = (c: TaskManagerCommand): boolean => c.type === 'deploy' && c.deployment.jobId === jobId;
    const commands = new Map<FakeTaskManager, Deploy>();
    for (const tm of [a, b]) commands.set(tm, (await tm.waitForCommand(isDeploy)) as Deploy);
    for (const tm of [a, b]) await tm.reportAll(commands.get(tm)!, 'INITIALIZING');
    for (const tm of [a, b]) await tm.reportAll(commands.get(tm)!, 'RUNNING');
    const { deployment } = commands.get(a)!;
    const sinkVertex = deployment.jobGraph.vertices.find((v) =>
      v.operators.some((op) => op.collectId === 'out'),
    );
    expect(sinkVertex?.parallelism).toBe(1);
    // Subtask 0 of the sink runs in global slot 0.
    const sinkTm = deployment.slots[0]!.taskManagerId === a.taskManagerId ? a : b;
    const mapOnly = sinkTm === a ? b : a;
    const attempt = deployment.attempt;
    // A TaskManager that runs nothing of the job, registered after it was placed.
    const bystander = await fake(1);

    const collect = (tm: FakeTaskManager, values: unknown[]) =>
      client.executions.reportCollected.mutate({
        taskManagerId: tm.taskManagerId,
        token: tm.token,
        jobId,
        attempt,
        collectId: 'out',
        values,
      });
    expect(await collect(mapOnly, [{ forged: true }])).toEqual({ accepted: 0, truncated: false });
    expect(await collect(sinkTm, [{ x: 1 }])).toEqual({ accepted: 1, truncated: false });
    // Within size limits: a record larger than the byte budget is counted, not kept.
    expect(await collect(sinkTm, [{ huge: 'x'.repeat(COLLECT_BYTES) }])).toEqual({
      accepted: 0,
      truncated: true,
    });
    const { collections } = await client.jobs.collected.query({ jobId, collectId: 'out' });
    expect(collections[0]?.records).toEqual([{ x: 1 }]);

    const lost = (tm: FakeTaskManager, peerId: string) =>
      client.executions.reportLostPeer.mutate({
        taskManagerId: tm.taskManagerId,
        token: tm.token,
        peerId,
        jobId,
        attempt,
        reason: 'connection reset',
      });
    expect(await lost(mapOnly, bystander.taskManagerId)).toEqual({ declaredLost: false });
    expect((await client.taskManagers.get.query({ id: bystander.taskManagerId })).status).toBe('OK');
    // The peer it really exchanges data with: failover starts at once, as before.
    expect(await lost(mapOnly, sinkTm.taskManagerId)).toEqual({ declaredLost: true });
    expect((await client.taskManagers.get.query({ id: sinkTm.taskManagerId })).status).toBe('LOST');
  });
});
