// A JobManager killed with SIGKILL and started again on the same database,
// with real processes. The heartbeat timeout is longer than the restart, so
// the TaskManagers keep running the old attempts' tasks meanwhile and report
// them when they register again: the new JobManager must cancel those
// orphans, keep their slots taken until they are gone, and recover both jobs
// from their latest checkpoints (not fail them). The bounded job's committed
// output then equals a clean run's; the other is cancelled through the API.
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
  untilSlotsFree,
  untilStatus,
  type RecoveryCluster,
} from './fixtures/recovery.js';

let c: RecoveryCluster;
beforeAll(async () => {
  // Three one-slot TaskManagers: the two jobs below take all three slots.
  c = await startRecoveryCluster({ taskManagers: 3, heartbeatTimeoutMs: 30_000 });
});
afterAll(async () => {
  await c?.group.dispose();
});

describe('a JobManager killed with SIGKILL and started again', () => {
  it('recovers its running jobs from their checkpoints: orphans cancelled, their slots taken until gone, cancel works', async () => {
    const count = 40_000;
    const { jobId: finite, out } = await submitCheckpointedSum(c, count, { parallelism: 2 });
    const { jobId: endless } = await submitCheckpointedSum(c, 1e9, { parallelism: 1, ratePerSecond: 200 });
    for (const jobId of [finite, endless])
      await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', `job ${jobId} to run`);
    await untilCheckpoints(c.client, finite, 2);
    await untilCheckpoints(c.client, endless, 1);
    const marks = c.tms.map((t) => t.logs.length);

    expect((await c.jm.kill()).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    await c.jm.restart();
    await Promise.all(c.tms.map((t, i) => t.waitForLog('TaskManager registered as ', 30_000, marks[i])));
    for (const jobId of [finite, endless]) {
      const back = await untilStatus(
        c.client,
        jobId,
        (j) => j.status === 'RUNNING' && j.restarts > 0,
        `job ${jobId} to run again after the JobManager restart`,
        90_000,
      );
      expect(back.events.some((e) => /recovering from checkpoint \d+/.test(e.message))).toBe(true);
      expect(back.subtasks.every((s) => s.attempt === back.attempt && s.state === 'RUNNING')).toBe(true);
    }
    console.log(`JobManager kill -9 to both jobs RUNNING again: ${Date.now() - killedAt} ms`);
    // The TaskManagers did not stop the old tasks by themselves (the JobManager was back in time):
    // the new JobManager told them to cancel every task of the attempts before its restart.
    const since = (i: number) => c.tms[i]!.logs.slice(marks[i]);
    expect(c.tms.every((_, i) => since(i).every((l) => !l.msg.startsWith('No heartbeat succeeded')))).toBe(
      true,
    );
    const orphanCancels = c.tms.flatMap((_, i) =>
      since(i).filter((l) => l.msg === 'Canceling job' && l.attempt === 0),
    );
    expect(new Set(orphanCancels.map((l) => l.jobId))).toEqual(new Set([finite, endless]));
    // What the TaskManagers run now is the current attempt only.
    const attempts = new Map<string, number>();
    for (const jobId of [finite, endless])
      attempts.set(jobId, (await c.client.jobs.get.query({ jobId })).attempt);
    for (const id of liveTaskManagerIds(c)) {
      const tm = await c.client.taskManagers.get.query({ id });
      expect(tm.slotsUsed).toBeLessThanOrEqual(tm.slots);
      for (const s of tm.subtasks) expect(s.attempt).toBe(attempts.get(s.jobId));
    }

    expect((await c.client.jobs.cancel.mutate({ jobId: endless })).jobId).toBe(endless);
    expect((await untilEnded(c.client, endless, { timeoutMs: 30_000 })).status).toBe('CANCELED');

    const job = await untilEnded(c.client, finite, { timeoutMs: 90_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    console.log(`JobManager kill -9: committed ${lines.length} records, expected ${count}`);
    expect(lines.length).toBe(count);
    expect(sorted(lines)).toEqual(sorted(expectedSums(count)));
    await untilSlotsFree(c.client, liveTaskManagerIds(c));
  });
});
