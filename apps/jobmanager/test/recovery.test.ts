// Fault tolerance with real processes, in order on one cluster: a checkpointed
// stateful job with the exactly-once file sink survives a TaskManager killed
// with SIGKILL, and a TaskManager frozen (SIGSTOP) past the heartbeat timeout
// and then thawed; each time its committed output equals what a run without
// failures writes, and no slot stays taken. A JobManager frozen for a while
// (a stall of its own) restarts nothing. (A JobManager restart:
// jobmanager-recovery.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilEnded } from './fixtures/cluster.js';
import {
  committedLines,
  expectedSums,
  liveTaskManagerIds,
  sorted,
  startRecoveryCluster,
  submitCheckpointedSum,
  untilCheckpoints,
  untilRestarted,
  untilSlotsFree,
  untilStatus,
  type RecoveryCluster,
} from './fixtures/recovery.js';

let c: RecoveryCluster;
beforeAll(async () => {
  // Three one-slot TaskManagers for a job at parallelism 2: one spare slot.
  c = await startRecoveryCluster({ taskManagers: 3 });
});
afterAll(async () => {
  await c?.group.dispose();
});

describe('a checkpointed job with the exactly-once file sink', () => {
  it('restarts from its checkpoint on a spare slot after kill -9 of a TaskManager, and writes exactly the clean output', async () => {
    const count = 24_000;
    const { jobId, out } = await submitCheckpointedSum(c, count, { parallelism: 2 });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    // Its sequence source replays from a checkpoint: no vertex is at-most-once.
    expect(running.vertices.every((v) => v.replayable)).toBe(true);
    await untilCheckpoints(c.client, jobId, 3);
    const victimId = running.subtasks[0]!.taskManager!.id;
    const victim = c.tms.find((t) => t.taskManagerId === victimId)!;
    const killedAt = Date.now();
    await victim.kill();
    await untilStatus(c.client, jobId, (j) => j.status === 'RESTARTING' || j.restarts > 0, 'the restart');
    const back = await untilRestarted(c.client, jobId);
    const recoveryMs = Date.now() - killedAt;
    console.log(`recovery: kill -9 to RUNNING again in ${recoveryMs} ms`);
    expect(back.attempt).toBeGreaterThan(0);
    expect(back.subtasks.every((s) => s.taskManager?.id !== victimId)).toBe(true);
    expect(back.events.some((e) => /from checkpoint \d+/.test(e.message))).toBe(true);
    expect(recoveryMs).toBeLessThan(10_000);

    const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    console.log(`committed ${lines.length} records, expected ${count}`);
    expect(lines.length).toBe(count);
    expect(sorted(lines)).toEqual(sorted(expectedSums(count)));
    const checkpoints = await c.client.jobs.checkpoints.query({ jobId });
    expect(checkpoints.counts.completed).toBeGreaterThanOrEqual(3);
    expect(checkpoints.latest?.acks.length).toBe(job.subtasks.length);
  });

  it('restarts elsewhere when a TaskManager is frozen past the heartbeat timeout; thawed, it drops its stale tasks and frees its slot', async () => {
    // Back to one spare slot (the previous test's victim is gone).
    await c.addTaskManager();
    const count = 40_000;
    const { jobId, out } = await submitCheckpointedSum(c, count, { parallelism: 2 });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 2);
    const victimId = running.subtasks[0]!.taskManager!.id;
    const victim = c.tms.find((t) => t.running && t.taskManagerId === victimId)!;
    const marks = victim.logs.length;
    victim.pause();
    let resumed = false;
    try {
      const back = await untilStatus(
        c.client,
        jobId,
        (j) =>
          j.status === 'RUNNING' && j.restarts > 0 && j.subtasks.every((s) => s.taskManager?.id !== victimId),
        'the job to run again without the frozen TaskManager',
      );
      expect(back.events.some((e) => /from checkpoint \d+/.test(e.message))).toBe(true);
      const lost = await c.client.taskManagers.get.query({ id: victimId });
      expect(lost.status).toBe('LOST');
      victim.resume();
      resumed = true;
      // Thawed, it learns it was presumed lost, stops its old tasks and registers again.
      await victim.waitForLog('TaskManager registered as ', 30_000, marks);
      const job = await untilEnded(c.client, jobId, { timeoutMs: 90_000 });
      expect(job.status, job.failureCause ?? '').toBe('FINISHED');
      const lines = await committedLines(out);
      console.log(`SIGSTOP: committed ${lines.length} records, expected ${count}`);
      expect(lines.length).toBe(count);
      expect(sorted(lines)).toEqual(sorted(expectedSums(count)));
      await untilSlotsFree(c.client, liveTaskManagerIds(c));
    } finally {
      if (!resumed) victim.resume();
    }
  });

  it('rides out a JobManager frozen past the heartbeat timeout (a stall of its own): no TaskManager lost, no restart', async () => {
    const count = 30_000;
    const { jobId, out } = await submitCheckpointedSum(c, count, { parallelism: 2 });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 2);
    const ids = liveTaskManagerIds(c);
    // 1.5 heartbeat timeouts, less than a TaskManager's request timeout (5 s): its heartbeat waits for the answer.
    c.jm.pause();
    try {
      await new Promise((r) => setTimeout(r, 4500));
    } finally {
      c.jm.resume();
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = await c.client.jobs.get.query({ jobId });
    expect(after.status).toBe('RUNNING');
    expect(after.restarts).toBe(0);
    expect(after.attempt).toBe(running.attempt);
    for (const id of ids) expect((await c.client.taskManagers.get.query({ id })).status).toBe('OK');
    const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    expect(job.restarts).toBe(0);
    expect(sorted(await committedLines(out))).toEqual(sorted(expectedSums(count)));
  });
});
