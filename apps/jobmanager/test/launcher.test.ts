// The launcher's operations on real daemons, as the fault-tolerance tests use
// them: freeze and thaw a TaskManager, restart the JobManager behind the same
// handle, kill -9 a TaskManager.
import { beforeAll, describe, expect, it } from 'vitest';
import { adminClient, ensureBuilt, ProcessGroup } from '../src/testing.js';

const HEARTBEAT_TIMEOUT_MS = 1500;

beforeAll(() => ensureBuilt());

async function until<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('launcher handles on a JobManager and TaskManagers', () => {
  it('pauses, resumes, restarts and kills processes by handle', async () => {
    await using group = new ProcessGroup();
    const database = await group.createDatabase();
    const jm = await group.startJobManager({ ...database, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
    const [frozen, victim] = await Promise.all([
      group.startTaskManager({ jobManagerUrl: jm.url, slots: 1 }),
      group.startTaskManager({ jobManagerUrl: jm.url, slots: 1 }),
    ]);
    const client = adminClient(jm);
    const status = (id: string) => client.taskManagers.get.query({ id }).then((t) => t.status);

    // SIGSTOP: the TaskManager stops heartbeating, as a hung machine would; SIGCONT brings it back.
    frozen.pause();
    expect(
      await until(
        () => status(frozen.taskManagerId),
        (s) => s === 'LOST',
      ),
    ).toBe('LOST');
    const mark = frozen.lineCount;
    frozen.resume();
    await until(
      () => client.cluster.overview.query(),
      (o) => o.taskManagers.byStatus.OK === 2,
    );
    expect(frozen.running).toBe(true);
    expect(frozen.lineCount).toBeGreaterThan(mark);

    // A restart keeps the handle and the port; the TaskManagers find it again.
    const url = jm.url;
    const marks = [frozen.lineCount, victim.lineCount];
    await jm.restart();
    expect(jm.url).toBe(url);
    expect(jm.starts).toBe(2);
    await Promise.all(
      [frozen, victim].map((tm, i) => tm.waitForLog('TaskManager registered as ', 20_000, marks[i])),
    );

    // kill -9: no deregistration, the JobManager finds it LOST.
    expect(await victim.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(
      await until(
        () => status(victim.taskManagerId),
        (s) => s === 'LOST',
      ),
    ).toBe('LOST');
    expect(await status(frozen.taskManagerId)).toBe('OK');
  });
});
