// The TaskManager ring of issue 10 against real processes (a JobManager and
// two TaskManagers): registration needs the cluster's join secret; a
// registration naming a live TaskManager's resource id without its session
// is refused and changes nothing; a registered TaskManager that runs none of
// a job's subtasks cannot report for them (states, records, metrics, a lost
// peer, checkpoint declines and uploads) nor fetch its bundle; a forged
// data-plane HELLO is refused — and the job, meanwhile, finishes with the
// right output.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointStatePath } from '@freshet/protocol';
import { createJobManagerClient, uploadProgramFile } from '../src/client.js';
import { adminClient, ensureBuilt, ProcessGroup, TASKMANAGER_BIN } from '../src/testing.js';
import { fixture, problems, until, untilEnded, type TestCluster } from './fixtures/cluster.js';
import { checkPacedSum } from './fixtures/paced-sum-check.js';
import { codeOf, rejection } from './rejection.js';

const group = new ProcessGroup();
let c: TestCluster;
let artifactId: string;
let bundleSha: string;

beforeAll(async () => {
  await ensureBuilt();
  const database = await group.createDatabase();
  const jm = await group.startJobManager({ ...database, heartbeatTimeoutMs: 4000 });
  const tms = await Promise.all([
    group.startTaskManager({ jobManagerUrl: jm.url, slots: 2 }),
    group.startTaskManager({ jobManagerUrl: jm.url, slots: 2 }),
  ]);
  c = { group, database, jm, tms: [tms[0], tms[1]], client: adminClient(jm) };
  const upload = await uploadProgramFile(c.client, fixture('paced-sum.ts'));
  artifactId = upload.artifact.id;
  bundleSha = upload.artifact.bundleSha256;
}, 300_000);
afterAll(() => group.dispose());

/** A control-plane client without an API token: TaskManagers authenticate by their input. */
const anonymous = () => createJobManagerClient(c.jm.url);

async function registerRaw(body: Record<string, unknown>): Promise<{ status: number; code: unknown }> {
  const res = await fetch(`${c.jm.url}/trpc/taskManagers.register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { data?: { code?: string } } };
  return { status: res.status, code: json.error?.data?.code };
}

async function runningJob(): Promise<string> {
  const { jobId } = await c.client.jobs.submit.mutate({ artifactId, parallelism: 2 });
  await until(
    () => c.client.jobs.get.query({ jobId }),
    (j) => j.status === 'RUNNING' && j.subtasks.every((s) => s.state === 'RUNNING'),
    { what: `job ${jobId} running` },
  );
  return jobId;
}

async function expectFinishedCorrectly(jobId: string): Promise<void> {
  const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
  expect(job.status, problems(c)).toBe('FINISHED');
  const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'out' });
  expect(checkPacedSum(collections[0]?.records ?? [])).toEqual([]);
}

describe('registration', () => {
  it('without the join secret, or with a wrong one, is refused with 401 and assigns nothing', async () => {
    const before = await c.client.taskManagers.list.query();
    expect(await registerRaw({ host: '127.0.0.1', dataPort: 9, slots: 8 })).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
    });
    expect(
      await registerRaw({
        host: '127.0.0.1',
        dataPort: 9,
        slots: 8,
        joinSecret: 'guessed-secret-0123456789',
      }),
    ).toEqual({ status: 401, code: 'UNAUTHORIZED' });

    // A TaskManager process with a wrong secret stops at once, saying why.
    const dir = await mkdtemp(join(tmpdir(), 'freshet-wrong-secret-'));
    await writeFile(join(dir, 'join-secret'), 'not-the-cluster-secret-at-all\n', { mode: 0o600 });
    const intruder = c.group.spawn(TASKMANAGER_BIN, [
      '--jobmanager',
      c.jm.url,
      '--slots',
      '8',
      '--join-secret-file',
      join(dir, 'join-secret'),
    ]);
    const status = await intruder.exited;
    expect(status.code).not.toBe(0);
    expect(intruder.tail()).toMatch(/join secret/i);

    const after = await c.client.taskManagers.list.query();
    expect(after.map((t) => t.id).sort()).toEqual(before.map((t) => t.id).sort());
    const jobId = await runningJob();
    const job = await c.client.jobs.get.query({ jobId });
    expect(new Set(job.subtasks.map((s) => s.taskManager?.id))).toEqual(
      new Set(c.tms.map((t) => t.taskManagerId)),
    );
    await expectFinishedCorrectly(jobId);
  });

  it("naming a live TaskManager's resource id without its session is refused and changes nothing", async () => {
    const victim = c.tms[0];
    const jobId = await runningJob();
    const before = await c.client.taskManagers.get.query({ id: victim.taskManagerId });
    for (const sessionToken of [undefined, 'x'.repeat(43)]) {
      // An insider: it has the join secret, but not the victim's session.
      const err = await rejection(
        anonymous().taskManagers.register.mutate({
          resourceId: victim.taskManagerId,
          host: '127.0.0.1',
          dataPort: 9,
          slots: 64,
          joinSecret: c.jm.joinSecret,
          ...(sessionToken === undefined ? {} : { sessionToken }),
        }),
      );
      expect(codeOf(err)).toBe('CONFLICT');
    }
    const after = await c.client.taskManagers.get.query({ id: victim.taskManagerId });
    expect(after).toMatchObject({
      status: 'OK',
      host: before.host,
      dataPort: before.dataPort,
      slots: before.slots,
      registeredAt: before.registeredAt,
    });
    await expectFinishedCorrectly(jobId);
    const job = await c.client.jobs.get.query({ jobId });
    expect(job.subtasks.every((s) => s.attempt === 0)).toBe(true);
  });
});

describe('a registered TaskManager that runs none of the job', () => {
  it('cannot report for its subtasks, fetch its bundle or touch its checkpoints; the job finishes right', async () => {
    const jobId = await runningJob();
    const client = anonymous();
    // Joins after the job was placed, so nothing of it is deployed here.
    const session = await client.taskManagers.register.mutate({
      host: '127.0.0.1',
      dataPort: 9,
      slots: 1,
      joinSecret: c.jm.joinSecret,
    });
    const auth = { taskManagerId: session.taskManagerId, token: session.token };
    const job = await c.client.jobs.get.query({ jobId });
    const attempt = job.subtasks[0]!.attempt;
    const now = Date.now();

    const states = await client.executions.reportStates.mutate({
      ...auth,
      updates: job.subtasks.map((s) => ({
        jobId,
        attempt,
        vertexId: s.vertexId,
        subtaskIndex: s.subtaskIndex,
        state: 'FINISHED' as const,
        at: now,
      })),
    });
    expect(states).toEqual({ accepted: 0, ignored: job.subtasks.length });
    expect(
      await client.executions.reportCollected.mutate({
        ...auth,
        jobId,
        attempt,
        collectId: 'out',
        values: [{ forged: true }],
      }),
    ).toEqual({ accepted: 0, truncated: false });
    const metrics = await client.executions.reportMetrics.mutate({
      ...auth,
      samples: job.subtasks.map((s) => ({
        jobId,
        attempt,
        vertexId: s.vertexId,
        subtaskIndex: s.subtaskIndex,
        recordsIn: 1e12,
        recordsOut: 1e12,
        bytesIn: 0,
        bytesOut: 0,
        busyRatio: 1,
        backpressureRatio: 1,
        inputWatermark: null,
        at: now,
      })),
    });
    expect(metrics).toEqual({ accepted: 0 });
    expect(
      await client.executions.reportLostPeer.mutate({
        ...auth,
        peerId: c.tms[0].taskManagerId,
        jobId,
        attempt,
        reason: 'forged',
      }),
    ).toEqual({ declaredLost: false });
    const s0 = job.subtasks[0]!;
    expect(
      await client.executions.declineCheckpoint.mutate({
        ...auth,
        jobId,
        attempt,
        vertexId: s0.vertexId,
        subtask: s0.subtaskIndex,
        checkpointId: 1,
        reason: 'forged',
      }),
    ).toEqual({ accepted: false });

    const bearer = { authorization: `Bearer ${session.taskManagerId}.${session.token}` };
    const bundle = await fetch(`${c.jm.url}/artifacts/${bundleSha}.mjs`, { headers: bearer });
    expect(bundle.status).toBe(403);
    const path = checkpointStatePath(jobId, attempt, 1, s0.vertexId, s0.subtaskIndex);
    const put = await fetch(`${c.jm.url}${path}`, {
      method: 'PUT',
      headers: bearer,
      body: new Uint8Array(16),
    });
    expect(put.status).toBe(409);

    await expectFinishedCorrectly(jobId);
    const ended = await c.client.jobs.get.query({ jobId });
    expect(ended.subtasks.every((s) => s.attempt === attempt)).toBe(true);
    for (const tm of c.tms)
      expect((await c.client.taskManagers.get.query({ id: tm.taskManagerId })).status).toBe('OK');
  });
});

/** A data-plane frame: an 8-byte header (channel, type << 28 | length) and a JSON payload. */
function jsonFrame(type: number, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0, 0);
  header.writeUInt32LE(((type << 28) | json.byteLength) >>> 0, 4);
  return Buffer.concat([header, json]);
}

/** Sends `frame` to a data port and returns what came back before the connection closed. */
function sendRaw(port: number, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(frame));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      resolve(Buffer.concat(chunks));
    });
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

describe('the data plane', () => {
  it('refuses forged HELLOs naming a running job and its TaskManagers; the job finishes right', async () => {
    const jobId = await runningJob();
    const job = await c.client.jobs.get.query({ jobId });
    const attempt = job.subtasks[0]!.attempt;
    const [x, y] = c.tms;
    const HELLO = 1;
    for (const [from, to] of [
      [x, y],
      [y, x],
    ] as const) {
      const names = { jobId, attempt, region: 0, from: from.taskManagerId, to: to.taskManagerId };
      // The probe's attack: a HELLO naming the other TaskManager (the old unauthenticated handshake).
      const old = await sendRaw(to.dataPort, jsonFrame(HELLO, { version: 1, ...names }));
      expect(old.toString()).not.toContain('"ok":true');
      // With a nonce and a made-up MAC.
      const forged = await sendRaw(
        to.dataPort,
        jsonFrame(HELLO, {
          version: 2,
          ...names,
          nonce: randomBytes(16).toString('base64url'),
          mac: randomBytes(32).toString('base64url'),
        }),
      );
      expect(forged.toString()).toContain('"ok":false');
      expect(forged.toString()).toContain('not authenticated');
    }
    await expectFinishedCorrectly(jobId);
    const ended = await c.client.jobs.get.query({ jobId });
    expect(ended.subtasks.every((s) => s.attempt === attempt)).toBe(true);
  });
});
