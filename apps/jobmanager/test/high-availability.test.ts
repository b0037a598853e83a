// High availability with real processes: two JobManagers on one Postgres
// database and one shared data directory (`--high-availability database`),
// two TaskManagers given both addresses. The leader holds a lease in the
// database; the standby serves reads by passing them on and refuses writes
// naming the leader. `kill -9` of the leader mid-job: the standby takes the
// lease, recovers the job from its latest checkpoint, the TaskManagers
// follow it, and the exactly-once output equals a clean run's. A leader
// frozen past its lease (SIGSTOP) is deposed and, once it runs again, stops
// by itself. Needs Postgres (PGlite serves one process only): skipped
// without FRESHET_TEST_DATABASE_URL, which `.ci/run` always sets.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobManagerClient, type JobManagerClient } from '../src/client.js';
import {
  ensureBuilt,
  ProcessGroup,
  type JobManagerProcess,
  type TaskManagerProcess,
} from '../src/testing.js';
import { fixture, submitFile, until, untilEnded } from './fixtures/cluster.js';
import { committedLines, expectedSums, sorted, untilCheckpoints, untilStatus } from './fixtures/recovery.js';

const withPostgres = process.env.FRESHET_TEST_DATABASE_URL !== undefined;
const LEASE_MS = 2000;
const LEADER_LOG = 'JobManager is the leader';

let group: ProcessGroup;
let database: { dataDir: string; databaseUrl: string | undefined };
let outputRoot: string;
const jms: JobManagerProcess[] = [];
const tms: TaskManagerProcess[] = [];
let client: JobManagerClient;

/** Starts a JobManager of the HA pair on the shared database and data directory. */
function startHaJobManager(): Promise<JobManagerProcess> {
  return group.startJobManager({
    ...database,
    heartbeatTimeoutMs: 10_000,
    args: [
      '--high-availability',
      'database',
      '--ha-lease-ms',
      String(LEASE_MS),
      '--cancel-timeout-ms',
      '3000',
    ],
  });
}

const urls = (): string => jms.map((j) => j.url).join(',');

/** Sends one raw HTTP/1.1 request line to `base` and returns the start of the answer. */
function rawRequest(base: string, line: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${line}\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      got += chunk;
    });
    socket.on('end', () => {
      resolve(got);
    });
    socket.on('error', reject);
  });
}

describe.skipIf(!withPostgres)('two JobManagers on one Postgres (--high-availability database)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    group = new ProcessGroup();
    database = await group.createDatabase();
    jms.push(await startHaJobManager());
    await jms[0]!.waitForLog(LEADER_LOG, 60_000);
    jms.push(await startHaJobManager());
    await jms[1]!.waitForLog('Standby: the leader is ', 30_000);
    outputRoot = await mkdtemp(join(tmpdir(), 'freshet-ha-out-'));
    group.defer(() => rm(outputRoot, { recursive: true, force: true }));
    for (let i = 0; i < 2; i++)
      tms.push(
        await group.startTaskManager({ jobManagerUrl: urls(), slots: 2, args: ['--task-files', outputRoot] }),
      );
    client = createJobManagerClient(urls(), { token: jms[0]!.adminToken });
  }, 180_000);
  afterAll(async () => {
    await group?.dispose();
  });

  it('the standby says who leads, passes reads on, and refuses writes naming the leader', async () => {
    const [leader, standby] = jms as [JobManagerProcess, JobManagerProcess];
    const who = (await (await fetch(`${standby.url}/leader`)).json()) as {
      role: string;
      leader: { url: string; epoch: number } | null;
    };
    expect(who.role).toBe('standby');
    expect(who.leader?.url).toBe(leader.url);
    const self = (await (await fetch(`${leader.url}/leader`)).json()) as typeof who;
    expect(self).toMatchObject({ role: 'leader', leader: { url: leader.url, epoch: who.leader!.epoch } });

    // A mutation sent to the standby is refused, unprocessed, with the leader's address.
    const token = leader.adminToken;
    const refused = await fetch(`${standby.url}/trpc/jobs.cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jobId: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('x-freshet-leader')).toBe(leader.url);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      `the leader at ${leader.url}`,
    );

    // A hostile absolute-form request target is not passed on to the host it names.
    const absolute = await rawRequest(standby.url, `GET http://127.0.0.1:9/trpc/jobs.list HTTP/1.1`);
    expect(absolute).toMatch(/^HTTP\/1\.1 400 /);
    expect(absolute).toContain('Not a request path: http://127.0.0.1:9/trpc/jobs.list');

    // A client that knows only the standby reads through it and follows it to the leader for writes.
    const viaStandby = createJobManagerClient(standby.url, { token });
    const list = await viaStandby.taskManagers.list.query();
    expect(list.filter((t) => t.status === 'OK')).toHaveLength(2);
    await expect(
      viaStandby.jobs.cancel.mutate({ jobId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it('kill -9 of the leader mid-job: the standby takes over within 5 s and the exactly-once output equals a clean run', async () => {
    const count = 40_000;
    const out = await mkdtemp(join(outputRoot, 'job-'));
    const jobId = await submitFile(client, fixture('checkpointed-sum.ts'), {
      args: [out, String(count), '4000', '200'],
      parallelism: 2,
    });
    await untilStatus(client, jobId, (j) => j.status === 'RUNNING', `job ${jobId} to run`);
    await untilCheckpoints(client, jobId, 2);
    const [leader, standby] = jms as [JobManagerProcess, JobManagerProcess];
    const marks = tms.map((t) => t.logs.length);
    const standbyMark = standby.logs.length;

    expect((await leader.kill()).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    await standby.waitForLog(LEADER_LOG, 15_000, standbyMark);
    const takeoverMs = Date.now() - killedAt;
    const leaseTakenAt = Date.parse(
      String(standby.logs.slice(standbyMark).find((l) => l.msg.startsWith('Leadership lease taken'))?.time),
    );
    const leadingAt = Date.parse(
      String(standby.logs.slice(standbyMark).find((l) => l.msg.startsWith(LEADER_LOG))?.time),
    );
    console.log(
      `HA: lease taken ${leaseTakenAt - killedAt} ms after the kill; recovery to leading ${leadingAt - leaseTakenAt} ms`,
    );
    await Promise.all(tms.map((t, i) => t.waitForLog('TaskManager registered as ', 30_000, marks[i])));
    const back = await untilStatus(
      client,
      jobId,
      (j) => j.status === 'RUNNING' && j.restarts > 0,
      `job ${jobId} to run again under the new leader`,
      60_000,
    );
    const recoveredMs = Date.now() - killedAt;
    expect(back.events.some((e) => /recovering from checkpoint \d+/.test(e.message))).toBe(true);
    console.log(
      `HA: kill -9 of the leader to the standby leading: ${takeoverMs} ms; to the job RUNNING again: ${recoveredMs} ms (lease ${LEASE_MS} ms)`,
    );
    expect(takeoverMs).toBeLessThan(5000);

    const job = await untilEnded(client, jobId, { timeoutMs: 120_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    expect(lines.length).toBe(count);
    expect(sorted(lines)).toEqual(sorted(expectedSums(count)));

    // The killed JobManager comes back as a standby of the new leader.
    const mark = leader.logs.length;
    await leader.restart();
    await leader.waitForLog(`Standby: the leader is ${standby.url}`, 30_000, mark);
  });

  it('a leader frozen past its lease is deposed, and stops by itself once it runs again', async () => {
    // After the previous test jms[1] leads and jms[0] stands by.
    const [standby, leader] = jms as [JobManagerProcess, JobManagerProcess];
    const mark = standby.logs.length;
    leader.pause();
    await standby.waitForLog(LEADER_LOG, 15_000, mark);
    const leaderMark = leader.logs.length;
    leader.resume();
    const lost = await leader.waitForLog('JobManager lost its leadership', 15_000, leaderMark);
    expect(lost.msg).toMatch(/lease/);
    const exit = await leader.exited;
    expect(exit.code).not.toBe(0);
    // The cluster goes on under the new leader: both TaskManagers are back with it.
    const viaNewLeader = createJobManagerClient(standby.url, { token: standby.adminToken });
    await until(
      () => viaNewLeader.taskManagers.list.query(),
      (list) => list.filter((t) => t.status === 'OK').length === 2,
      { timeoutMs: 30_000, what: 'both TaskManagers registered with the new leader' },
    );
  });
});
