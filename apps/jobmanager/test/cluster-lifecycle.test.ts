// One JobManager and two TaskManager processes through a cluster's life, in order:
// cancel a running job, drive it with the CLI, fail a job on a user error,
// restart the JobManager, and lose a TaskManager to kill -9 mid-job.
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processTree } from '@freshet/runtime';
import type { JobDetails } from '../src/jobs/views.js';
import {
  fixture,
  problems,
  startCluster,
  submitFile,
  until,
  untilEnded,
  type TestCluster,
} from './fixtures/cluster.js';

const HEARTBEAT_TIMEOUT_MS = 2000;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(repoRoot, 'packages/cli/dist/bin.js');
const run = promisify(execFile);

let c: TestCluster;
/** Current ids of the two TaskManagers (they get new ones when they register again). */
let tmIds: [string, string];
/** Jobs of the earlier tests, as `jobs.get` showed them once they ended. */
const ended = new Map<string, JobDetails>();

/**
 * OS threads of a TaskManager and its descendants: a deployment's slots are
 * worker threads of its job process, a child of the TaskManager (or, with
 * --task-isolation threads, threads of the TaskManager itself).
 */
const threads = (pid: number): number => {
  let n = 0;
  for (const p of processTree(pid)) {
    try {
      n += readdirSync(`/proc/${p}/task`).length;
    } catch {
      // Ended meanwhile.
    }
  }
  return n;
};

const cli = (...args: string[]) =>
  run(process.execPath, [CLI, ...args], {
    cwd: repoRoot,
    timeout: 30_000,
    encoding: 'utf8',
    // The CLI takes its token from FRESHET_TOKEN like a script would.
    env: { ...process.env, FRESHET_TOKEN: c.jm.adminToken },
  });

const taskManager = (id: string) => c.client.taskManagers.get.query({ id });

/** Waits until both TaskManagers run no slot, as the JobManager books it and as their heartbeats say. */
async function untilSlotsFree(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const tm = await until(
      () => taskManager(id),
      (t) => t.slotsUsed === 0 && t.subtasks.length === 0 && t.healthHistory.at(-1)?.slotsUsed === 0,
      { what: `TaskManager ${id} to have all slots free` },
    );
    expect(tm.status).toBe('OK');
  }
}

async function untilRunning(jobId: string): Promise<JobDetails> {
  return until(
    () => c.client.jobs.get.query({ jobId }),
    (j) => j.status === 'RUNNING' || j.status === 'FAILED' || j.status === 'CANCELED',
    { what: `job ${jobId} to run` },
  );
}

beforeAll(async () => {
  c = await startCluster({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
  tmIds = [c.tms[0].taskManagerId, c.tms[1].taskManagerId];
  if (process.env.FRESHET_TEST_SKIP_BUILD !== '1') {
    const build = spawnSync(
      'pnpm',
      ['turbo', 'run', 'build', '--filter=@freshet/cli', '--output-logs=errors-only'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    if (build.status !== 0) throw new Error(`CLI build failed:\n${build.stdout}\n${build.stderr}`);
  }
});
afterAll(() => c?.group.dispose());

describe('a cluster of one JobManager and two TaskManagers', () => {
  it('cancels a running job: every subtask CANCELED, the job CANCELED, every slot free again', async () => {
    const jobId = await submitFile(c.client, fixture('slow-keyed.ts'), { parallelism: 4 });
    const running = await untilRunning(jobId);
    expect(running.status, problems(c)).toBe('RUNNING');
    expect(new Set(running.subtasks.map((s) => s.taskManager?.id))).toEqual(new Set(tmIds));
    for (const id of tmIds) expect((await taskManager(id)).slotsUsed).toBe(2);

    const answer = await c.client.jobs.cancel.mutate({ jobId });
    expect(['CANCELLING', 'CANCELED']).toContain(answer.status);
    const job = await untilEnded(c.client, jobId);
    expect(job.status).toBe('CANCELED');
    expect(job.subtasks.map((s) => s.state)).toEqual(job.subtasks.map(() => 'CANCELED'));
    expect(job.events.some((e) => e.message.includes('Cancelled by the user'))).toBe(true);
    await untilSlotsFree(tmIds);
    ended.set(jobId, job);
  });

  it('runs a program with the CLI (-p 2) and lists jobs, TaskManagers and cancels with --json', async () => {
    const ran = await cli('run', fixture('tiny-collect.ts'), '--jobmanager', c.jm.url, '-p', '2');
    const jobId = /Submitted job (\S+)/.exec(ran.stdout)?.[1];
    expect(jobId, ran.stdout + ran.stderr).toBeDefined();
    // The status line reads as a local run's (`Job 'name' FINISHED in …`); the id came with `Submitted job`.
    expect(ran.stdout).toMatch(/^Job '.+' FINISHED in \d+ ms$/m);
    expect(ran.stdout).toContain('out (40 records):');
    for (let x = 1; x <= 40; x++) expect(ran.stdout).toContain(`  ${JSON.stringify({ x, square: x * x })}\n`);
    ended.set(jobId!, await c.client.jobs.get.query({ jobId: jobId! }));

    const tms = JSON.parse((await cli('taskmanagers', '--jobmanager', c.jm.url, '--json')).stdout) as {
      id: string;
      slots: number;
      status: string;
    }[];
    expect(tms.map((t) => t.id).sort()).toEqual([...tmIds].sort());
    for (const t of tms) expect([t.slots, t.status]).toEqual([2, 'OK']);

    const slow = await submitFile(c.client, fixture('slow-keyed.ts'), { parallelism: 2 });
    await untilRunning(slow);
    const listed = JSON.parse((await cli('list', '--jobmanager', c.jm.url, '--json')).stdout) as {
      id: string;
      status: string;
    }[];
    // Newest first: the running job, the CLI's, then the earlier ones.
    expect(listed.map((j) => j.id)).toEqual([
      slow,
      jobId,
      ...[...ended.keys()].filter((id) => id !== jobId).reverse(),
    ]);
    expect(listed.find((j) => j.id === slow)?.status).toBe('RUNNING');
    expect(listed.find((j) => j.id === jobId)?.status).toBe('FINISHED');

    const cancelled = JSON.parse((await cli('cancel', slow, '--jobmanager', c.jm.url, '--json')).stdout) as {
      jobId: string;
      status: string;
    };
    expect(cancelled.jobId).toBe(slow);
    expect(['CANCELLING', 'CANCELED']).toContain(cancelled.status);
    expect((await untilEnded(c.client, slow)).status).toBe('CANCELED');
    ended.set(slow, await c.client.jobs.get.query({ jobId: slow }));
    await untilSlotsFree(tmIds);
  });

  it('fails a job on a user error with the exception recorded', async () => {
    const jobId = await submitFile(c.client, fixture('poisoned.ts'), { parallelism: 4 });
    const job = await untilEnded(c.client, jobId);
    expect(job.status).toBe('FAILED');
    expect(job.failureCause).toContain('record 500 is poisoned');
    expect(job.exceptions.some((e) => e.message.includes('Error: record 500 is poisoned'))).toBe(true);
    ended.set(jobId, job);
    await untilSlotsFree(tmIds);
  });

  it('keeps every job with its events and exceptions across a JobManager restart; both TaskManagers register again', async () => {
    const marks = c.tms.map((t) => t.logs.length);
    const port = c.jm.port;
    expect(await c.jm.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    c.jm = await c.group.startJobManager({ ...c.database, port, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
    expect(c.jm.url).toContain(`:${port}`);
    const again = await Promise.all(
      c.tms.map((t, i) => t.waitForLog('TaskManager registered as ', 20_000, marks[i])),
    );
    tmIds = [String(again[0]!.taskManagerId), String(again[1]!.taskManagerId)];
    const list = await until(
      () => c.client.taskManagers.list.query(),
      (l) => tmIds.every((id) => l.some((t) => t.id === id && t.status === 'OK')),
      { what: 'both TaskManagers to be OK again' },
    );
    expect(
      list
        .filter((t) => t.status === 'OK')
        .map((t) => t.id)
        .sort(),
    ).toEqual([...tmIds].sort());

    const { jobs } = await c.client.jobs.list.query({});
    expect(jobs.map((j) => j.id).sort()).toEqual([...ended.keys()].sort());
    for (const [jobId, before] of ended) {
      const after = await c.client.jobs.get.query({ jobId });
      expect(after.status).toBe(before.status);
      expect(after.failureCause).toBe(before.failureCause);
      expect(after.events.map((e) => e.message)).toEqual(before.events.map((e) => e.message));
      expect(after.exceptions).toEqual(before.exceptions);
      expect(after.subtasks.map((s) => s.state)).toEqual(before.subtasks.map((s) => s.state));
    }
    expect([...ended.values()].some((j) => j.exceptions.length > 0)).toBe(true);
  });

  it('fails the job of a TaskManager killed with SIGKILL, marks it LOST in time; the other stays OK with its slots and threads freed', async () => {
    const [survivor, victim] = [c.tms[0], c.tms[1]];
    const [survivorId, victimId] = tmIds;
    await untilSlotsFree(tmIds);
    const baseline = threads(survivor.pid);
    const jobId = await submitFile(c.client, fixture('slow-keyed.ts'), { parallelism: 4 });
    const running = await untilRunning(jobId);
    expect(running.status, problems(c)).toBe('RUNNING');
    expect(new Set(running.subtasks.map((s) => s.taskManager?.id))).toEqual(new Set(tmIds));
    expect(threads(survivor.pid)).toBeGreaterThanOrEqual(baseline + 2); // a job process with two slot workers

    const killedAt = Date.now();
    expect((await victim.stop('SIGKILL')).signal).toBe('SIGKILL');
    const lost = await until(
      () => taskManager(victimId),
      (t) => t.status === 'LOST',
      { intervalMs: 50, timeoutMs: 3 * HEARTBEAT_TIMEOUT_MS, what: `TaskManager ${victimId} to be LOST` },
    );
    // LOST once no heartbeat came for the timeout; the last one came at most one interval before the kill.
    expect(Date.now() - killedAt).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 1500);
    expect(lost.status).toBe('LOST');

    const job = await untilEnded(c.client, jobId);
    expect(job.status).toBe('FAILED');
    expect(job.failureCause).toContain(`TaskManager ${victimId}`);
    expect(job.exceptions.some((e) => e.message.includes(`TaskManager ${victimId}`))).toBe(true);
    for (const s of job.subtasks) {
      if (s.taskManager?.id === victimId) {
        expect(s.state).toBe('FAILED');
        expect(s.failureCause).toContain(`TaskManager ${victimId}`);
        expect(s.failureCause).toContain('was lost');
      } else expect(['CANCELED', 'FAILED']).toContain(s.state);
    }

    // The survivor keeps heartbeating, runs nothing, and its slot workers are gone.
    await untilSlotsFree([survivorId]);
    const seen = (await taskManager(survivorId)).lastHeartbeatAt;
    const later = await until(
      () => taskManager(survivorId),
      (t) => t.lastHeartbeatAt > seen,
      { what: 'a later heartbeat of the surviving TaskManager' },
    );
    expect(later.status).toBe('OK');
    await until(
      () => Promise.resolve(threads(survivor.pid)),
      (n) => n <= baseline,
      { what: `TaskManager ${survivorId} to have no job process or slot worker threads left` },
    );
    expect(survivor.running).toBe(true);
  });
});
