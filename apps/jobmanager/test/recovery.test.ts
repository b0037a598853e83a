// Fault tolerance with real processes: a checkpointed stateful job with the
// exactly-once file sink survives a TaskManager killed with SIGKILL, and its
// committed output equals what a run without failures writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, submitFile, untilEnded } from './fixtures/cluster.js';
import {
  committedLines,
  expectedSums,
  sorted,
  startRecoveryCluster,
  untilCheckpoints,
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
    const out = await c.outputDir();
    const jobId = await submitFile(c.client, fixture('checkpointed-sum.ts'), {
      args: [out, String(count), '4000', '200'],
      parallelism: 2,
    });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 3);
    const victimId = running.subtasks[0]!.taskManager!.id;
    const victim = c.tms.find((t) => t.taskManagerId === victimId)!;
    const killedAt = Date.now();
    await victim.kill();
    await untilStatus(c.client, jobId, (j) => j.status === 'RESTARTING' || j.restarts > 0, 'the restart');
    const back = await untilStatus(
      c.client,
      jobId,
      (j) => j.status === 'RUNNING' && j.restarts > 0,
      'the job to run again',
    );
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
});
