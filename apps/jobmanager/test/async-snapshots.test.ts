// Asynchronous heap snapshots with real processes: a rolling reduce that
// changes its accumulator in place (object reuse) is checkpointed every
// 100 ms while its snapshots are packed after the barrier, a TaskManager is
// killed with SIGKILL, and the job restored from its checkpoint writes
// exactly what a run without failures writes. Had a snapshot taken in a
// change made after its barrier, the restored sums would be off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, submitFile, untilEnded } from './fixtures/cluster.js';
import {
  committedLines,
  sorted,
  startRecoveryCluster,
  untilCheckpoints,
  untilRestarted,
  untilStatus,
  type RecoveryCluster,
} from './fixtures/recovery.js';

/** What `mutating-sum.ts` writes for `count` numbers. */
function expectedLines(count: number, keys: number): string[] {
  const accs = new Map<number, { v: number; n: number; last: number[] }>();
  const out: string[] = [];
  for (let x = 0; x < count; x++) {
    const k = x % keys;
    let a = accs.get(k);
    if (a === undefined) accs.set(k, (a = { v: x, n: 1, last: [x] }));
    else {
      a.v += x;
      a.n += 1;
      a.last.push(x);
      if (a.last.length > 8) a.last.shift();
    }
    out.push(JSON.stringify({ k, v: a.v, n: a.n, last: a.last.join(',') }));
  }
  return out;
}

let c: RecoveryCluster;
beforeAll(async () => {
  // Three one-slot TaskManagers for a job at parallelism 2: one spare slot.
  c = await startRecoveryCluster({ taskManagers: 3 });
});
afterAll(async () => {
  await c?.group.dispose();
});

describe('asynchronous heap snapshots', () => {
  it('a reduce changing its accumulator in place restores exactly after kill -9 of a TaskManager', async () => {
    // 10,000 keys, each updated every half second: once all exist (after 0.5 s), each snapshot is packed
    // over several 1 ms steps with records between them that change values the snapshot holds.
    const count = 120_000;
    const keys = 10_000;
    const out = await c.outputDir();
    const jobId = await submitFile(c.client, fixture('mutating-sum.ts'), {
      args: [out, String(count), '20000', '100', String(keys)],
      parallelism: 2,
    });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 12);
    // A TaskManager running a reduce subtask (the state restored from the checkpoint).
    const reducer = running.subtasks.find((s) => /reduce/i.test(s.vertexName) && s.taskManager !== null);
    expect(reducer, running.subtasks.map((s) => s.vertexName).join(', ')).toBeDefined();
    const victimId = reducer!.taskManager!.id;
    await c.tms.find((t) => t.taskManagerId === victimId)!.kill();
    const back = await untilRestarted(c.client, jobId);
    expect(back.events.some((e) => /from checkpoint \d+/.test(e.message))).toBe(true);
    const job = await untilEnded(c.client, jobId, { timeoutMs: 90_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    expect(lines.length).toBe(count);
    expect(sorted(lines)).toEqual(sorted(expectedLines(count, keys)));
  });
});
