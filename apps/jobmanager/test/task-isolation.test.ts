// User code at run time, on a real TaskManager process: it runs in a
// sandboxed child process per job, never in the TaskManager. A program that
// reads the TaskManager's environment, signals it, spawns a process, opens a
// socket, reads its secrets or writes outside its directory fails to; and
// process.exit, an endless loop, a full heap or memory outside the heap in a
// user function fail that job only — the TaskManager keeps heartbeating and
// a job running next to it finishes with the right output. Nor does the
// TaskManager re-run a plan in its own process.
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadProgramFile, type JobManagerClient } from '../src/client.js';
import {
  adminClient,
  ensureBuilt,
  ProcessGroup,
  type JobManagerProcess,
  type TaskManagerProcess,
} from '../src/testing.js';
import { fixture, until, untilEnded } from './fixtures/cluster.js';
import { checkPacedSum } from './fixtures/paced-sum-check.js';

const PROBE_SECRET = 'tm-probe-secret-0123456789';
const WATCHDOG_MS = 3000;
const MEMORY_MIB = 768;

const group = new ProcessGroup();
let jm: JobManagerProcess;
let tm: TaskManagerProcess;
let client: JobManagerClient;
let work: string;
let listener: Server;
let connections = 0;
let port = 0;

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'freshet-task-isolation-'));
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as { port: number }).port;
  const database = await group.createDatabase();
  jm = await group.startJobManager({ ...database, heartbeatTimeoutMs: 4000 });
  tm = await group.startTaskManager({
    jobManagerUrl: jm.url,
    slots: 2,
    dataDir: join(work, 'tm'),
    env: { FRESHET_PROBE_SECRET: PROBE_SECRET },
    args: [
      // FRESHET_TEST_TASK_ISOLATION=permission-only runs the same attacks without bubblewrap.
      '--task-isolation',
      process.env.FRESHET_TEST_TASK_ISOLATION ?? 'auto',
      '--task-watchdog-ms',
      String(WATCHDOG_MS),
      '--slot-heap-mib',
      '128',
      '--task-memory-mib',
      String(MEMORY_MIB),
    ],
  });
  client = adminClient(jm);
}, 300_000);

afterAll(async () => {
  await group.dispose();
  await new Promise<void>((r) =>
    listener.close(() => {
      r();
    }),
  );
});

async function submit(program: string, args: string[]): Promise<string> {
  const { artifact } = await uploadProgramFile(client, fixture(program));
  const { jobId } = await client.jobs.submit.mutate({ artifactId: artifact.id, args, parallelism: 1 });
  return jobId;
}

/** What the TaskManager logged about its task sandbox. */
const sandboxLine = (): string => tm.logs.find((l) => l.msg.startsWith('Task sandbox: '))?.msg ?? '';

async function expectTaskManagerOk(): Promise<void> {
  expect(tm.crashed).toBe(false);
  const info = await client.taskManagers.get.query({ id: tm.taskManagerId });
  expect(info.status).toBe('OK');
  expect(Date.now() - Date.parse(info.lastHeartbeatAt)).toBeLessThan(3000);
}

describe('a task', () => {
  it('runs isolated: the TaskManager logs its sandbox', () => {
    expect(sandboxLine()).toMatch(/a child process per job/);
    expect(sandboxLine()).toMatch(/empty env/);
  });

  it("cannot read the TaskManager's environment or secrets, signal it, spawn, reach the network or write outside", async () => {
    const outside = join(work, 'escaped.txt');
    const jobId = await submit('run-escape.ts', [String(port), outside, jm.joinSecretFile, join(work, 'tm')]);
    const job = await untilEnded(client, jobId, { timeoutMs: 60_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const { collections } = await client.jobs.collected.query({ jobId, collectId: 'outcomes' });
    const outcomes = Object.fromEntries(
      ((collections[0]?.records ?? []) as { attack: string; outcome: string }[]).map((r) => [
        r.attack,
        r.outcome,
      ]),
    );
    const all = JSON.stringify(outcomes);
    console.log(`run-time escapes: ${all}`);
    expect(all).not.toContain(PROBE_SECRET);
    expect(all).not.toContain(jm.joinSecret);
    for (const attack of ['environ', 'spawn', 'write', 'secret', 'data-dir'])
      expect(outcomes[attack], attack).toMatch(/^blocked:/);
    // Under bubblewrap /tmp is the sandbox's own: writing there outside the job's directory fails loudly.
    if (/bubblewrap/.test(sandboxLine())) expect(outcomes['tmp-write']).toBe('blocked:ERR_ACCESS_DENIED');
    expect(outcomes.env).not.toMatch(/FRESHET/);
    // A signal to its parent reaches at most the sandbox's own init, never the TaskManager.
    expect(outcomes.kill).not.toBe(`ok:signalled ${tm.pid}`);
    expect(existsSync(outside)).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    // Without bubblewrap the network is not isolated (the TaskManager says so in its log line).
    if (!/no network/.test(sandboxLine())) expect(connections).toBe(0);
    await expectTaskManagerOk();
  });

  it('that exits, loops forever or exhausts memory fails its own job only; the job next to it finishes right', async () => {
    const steadyCount = 9000;
    const steady = await submit('paced-sum.ts', [String(steadyCount), '300']);
    await until(
      () => client.jobs.get.query({ jobId: steady }),
      (j) => j.status === 'RUNNING',
      { what: 'the steady job to run', timeoutMs: 30_000 },
    );
    const causes: Record<string, string> = {};
    for (const attack of ['exit', 'loop', 'heap', 'buffer']) {
      const started = Date.now();
      const jobId = await submit('hostile.ts', [attack]);
      const job = await untilEnded(client, jobId, { timeoutMs: 60_000 });
      expect(job.status, attack).toBe('FAILED');
      causes[attack] = `${job.failureCause ?? ''} (${Date.now() - started} ms)`;
      await expectTaskManagerOk();
      // Undisturbed: still running, or already finished.
      const status = (await client.jobs.get.query({ jobId: steady })).status;
      if (attack === 'exit') expect(status).toBe('RUNNING');
      else expect(['RUNNING', 'FINISHED'], attack).toContain(status);
    }
    // Planned again where it runs, but never in the TaskManager's own process (whose environment it looks for).
    const planExit = await untilEnded(client, await submit('hostile.ts', ['plan-exit']), {
      timeoutMs: 60_000,
    });
    expect(planExit.status, planExit.failureCause ?? '').toBe('FINISHED');
    await expectTaskManagerOk();
    console.log(`hostile jobs: ${JSON.stringify(causes, null, 1)}`);
    expect(causes.exit).toMatch(/exited with code 3/);
    expect(causes.loop).toMatch(/operator chain '.*hostile.*' \(subtask 0\) has not returned for 3000 ms/);
    expect(causes.loop).toMatch(/hostile\.ts:\d+/);
    expect(causes.heap).toMatch(/memory|heap/i);
    expect(causes.buffer).toMatch(new RegExp(`over its limit of ${MEMORY_MIB} MiB`));

    const done = await untilEnded(client, steady, { timeoutMs: 90_000 });
    expect(done.status).toBe('FINISHED');
    const { collections } = await client.jobs.collected.query({ jobId: steady, collectId: 'out' });
    expect(checkPacedSum(collections[0]?.records ?? [], steadyCount)).toEqual([]);
    await expectTaskManagerOk();
  });
});
