// Integration test: a real JobManager process and real TaskManager processes.
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter, ClusterOverview } from '../src/router.js';
import {
  adminHeaders,
  ensureBuilt,
  JOBMANAGER_BIN,
  ProcessGroup,
  type JobManagerProcess,
} from '../src/testing.js';

const HEARTBEAT_TIMEOUT_MS = 1500;
const group = new ProcessGroup();
let database: { dataDir: string; databaseUrl: string | undefined };
let jm: JobManagerProcess;

const clientFor = (j: JobManagerProcess) =>
  createTRPCClient<AppRouter>({ links: [httpLink({ url: `${j.url}/trpc`, headers: adminHeaders(j) })] });

async function eventually<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads `cluster.onUpdate` over SSE until `ok` accepts an overview. */
async function waitForOverview(
  j: JobManagerProcess,
  ok: (o: ClusterOverview) => boolean,
  start: () => Promise<unknown>,
): Promise<ClusterOverview> {
  const abort = new AbortController();
  const res = await fetch(`${j.url}/trpc/cluster.onUpdate`, {
    signal: abort.signal,
    headers: { accept: 'text/event-stream', ...adminHeaders(j) },
  });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let started = false;
  const timer = setTimeout(() => {
    abort.abort();
  }, 15_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('SSE stream ended');
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split('\n').find((l) => l.startsWith('data: '));
        if (data === undefined || event.includes('event: connected') || event.includes('event: ping'))
          continue;
        const overview = JSON.parse(data.slice(6)) as ClusterOverview;
        if (!started) {
          // The first event is the current state; trigger the change after it arrived.
          started = true;
          void start();
        } else if (ok(overview)) {
          return overview;
        }
      }
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

beforeAll(async () => {
  await ensureBuilt();
  database = await group.createDatabase();
  jm = await group.startJobManager({ ...database, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
});

afterAll(() => group.dispose());

describe('JobManager configuration', () => {
  it('names the bad setting and exits non-zero', async () => {
    const bad = group.spawn(JOBMANAGER_BIN, ['--port', 'abc']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr).toContain('Invalid configuration: --port must be an integer 0-65535 (got "abc")');

    const badEnv = group.spawn(JOBMANAGER_BIN, [], { FRESHET_HEARTBEAT_TIMEOUT_MS: 'soon' });
    expect((await badEnv.exited).code).toBe(2);
    expect(badEnv.stderr).toContain('FRESHET_HEARTBEAT_TIMEOUT_MS must be an integer');
  });

  it('serves /healthz', async () => {
    const res = await fetch(`${jm.url}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('cluster membership', () => {
  it('lists a registered TaskManager with its slots, and streams the change', async () => {
    const client = clientFor(jm);
    let tmId = '';
    const update = await waitForOverview(
      jm,
      (o) => o.taskManagers.byStatus.OK === 1,
      async () => {
        tmId = (await group.startTaskManager({ jobManagerUrl: jm.url, slots: 3 })).taskManagerId;
      },
    );
    expect(update.slots).toEqual({ total: 3, free: 3 });

    const list = await client.taskManagers.list.query();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ slots: 3, status: 'OK', host: '127.0.0.1' });
    const one = await eventually(
      () => client.taskManagers.get.query({ id: list[0]!.id }),
      (tm) => tm.health !== null,
      5000,
    );
    expect(one.health).toMatchObject({ slotsUsed: 0 });
    expect(one.health!.rss).toBeGreaterThan(0);
    expect(tmId).toBe(one.id);
  });

  it('answers NOT_FOUND for an unknown TaskManager id', async () => {
    const err = await clientFor(jm)
      .taskManagers.get.query({ id: 'no-such-tm' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe('NOT_FOUND');
    expect((err as Error).message).toContain('no-such-tm');
  });

  it('rejects a heartbeat with a bad token and asks an unknown id to re-register', async () => {
    const client = clientFor(jm);
    const [tm] = await client.taskManagers.list.query();
    const health = { cpu: 0, heapUsed: 1, rss: 1, eventLoopDelayMs: 0, slotsUsed: 0, uptimeSec: 1 };
    const err = await client.taskManagers.heartbeat
      .mutate({ taskManagerId: tm!.id, token: 'x'.repeat(43), health })
      .catch((e: unknown) => e);
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
    expect(
      await client.taskManagers.heartbeat.mutate({ taskManagerId: 'ghost', token: 'x', health }),
    ).toMatchObject({
      status: 'reregister',
    });
    const invalid = await client.taskManagers.register
      .mutate({ host: '127.0.0.1', dataPort: 0, slots: 1 })
      .catch((e: unknown) => e);
    expect((invalid as TRPCClientError<AppRouter>).data?.code).toBe('BAD_REQUEST');
  });

  it('marks a killed TaskManager LOST within the timeout while another stays OK', async () => {
    const client = clientFor(jm);
    const victim = await group.startTaskManager({ jobManagerUrl: jm.url, slots: 1 });
    const [survivor] = await client.taskManagers.list
      .query()
      .then((l) => l.filter((t) => t.id !== victim.taskManagerId));
    await victim.stop('SIGKILL');
    const killedAt = Date.now();
    const lost = await eventually(
      () => client.taskManagers.get.query({ id: victim.taskManagerId }),
      (tm) => tm.status === 'LOST',
      HEARTBEAT_TIMEOUT_MS * 3,
    );
    expect(lost.status).toBe('LOST');
    // Heartbeat timeout plus one monitor period and a scheduling margin.
    expect(Date.now() - killedAt).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 1000);
    expect((await client.taskManagers.get.query({ id: survivor!.id })).status).toBe('OK');
    const overview = await client.cluster.overview.query();
    expect(overview.taskManagers.byStatus).toMatchObject({ OK: 1, LOST: 1 });
    expect(overview.slots.total).toBe(3);
    expect(overview.jobManager.database).toBe(database.databaseUrl === undefined ? 'pglite' : 'postgres');
  });

  it('keeps its data across a restart, and TaskManagers re-register by themselves', async () => {
    const before = await clientFor(jm).taskManagers.list.query();
    const live = before.find((t) => t.status === 'OK')!;
    const tmProcess = group.spawnedTaskManagers().find((p) => p.taskManagerId === live.id)!;
    const seen = tmProcess.logs.length;

    await jm.stop('SIGTERM');
    jm = await group.startJobManager({
      ...database,
      port: jm.port,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    await tmProcess.waitForLog('TaskManager registered as ', 15_000, seen);

    const after = await clientFor(jm).taskManagers.list.query();
    expect(after.map((t) => t.id).sort()).toEqual(before.map((t) => t.id).sort());
    expect(after.find((t) => t.id === live.id)).toMatchObject({ status: 'OK', slots: 3 });
    expect(after.filter((t) => t.status === 'LOST')).toHaveLength(1);
  });
});
