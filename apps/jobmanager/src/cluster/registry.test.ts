import { UnauthorizedError } from '@freshet/errors';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { TaskManagerHealth } from '@freshet/protocol';
import { JoinSecret } from './join-secret.js';
import { ClusterRegistry } from './registry.js';
import { memoryClusterStore as memoryStore } from '../test-support/memory-stores.js';

const health: TaskManagerHealth = {
  cpu: 0.1,
  heapUsed: 1,
  rss: 2,
  eventLoopDelayMs: 0,
  slotsUsed: 1,
  uptimeSec: 3,
};

function setup(store = memoryStore()) {
  let now = 1_000_000;
  const registry = new ClusterRegistry({
    store,
    logger: pino({ level: 'silent' }),
    version: 'test',
    heartbeatTimeoutMs: 1000,
    now: () => now,
  });
  return { registry, store, advance: (ms: number) => (now += ms) };
}

describe('ClusterRegistry', () => {
  it('goes OK -> LATE at half the timeout -> LOST at the timeout, and notifies each change', async () => {
    const { registry, store, advance } = setup();
    const { taskManagerId, heartbeatIntervalMs } = await registry.register({
      host: 'h',
      dataPort: 9,
      slots: 2,
    });
    expect(heartbeatIntervalMs).toBe(250);
    const v0 = registry.changes.version;
    advance(499);
    await registry.checkLiveness();
    expect(store.rows.get(taskManagerId)!.status).toBe('OK');
    advance(1);
    await registry.checkLiveness();
    expect(store.rows.get(taskManagerId)!.status).toBe('LATE');
    advance(500);
    await registry.checkLiveness();
    expect(store.rows.get(taskManagerId)!.status).toBe('LOST');
    expect(registry.changes.version).toBe(v0 + 2);
  });

  it('brings a LATE TaskManager back to OK on a heartbeat, and counts its used slots', async () => {
    const { registry, store, advance } = setup();
    const s = await registry.register({ host: 'h', dataPort: 9, slots: 2 });
    advance(600);
    await registry.checkLiveness();
    expect(await registry.heartbeat({ taskManagerId: s.taskManagerId, token: s.token, health })).toEqual({
      status: 'ok',
    });
    expect(store.rows.get(s.taskManagerId)).toMatchObject({ status: 'OK', health });
    const overview = await registry.overview();
    expect(overview.slots).toEqual({ total: 2, free: 1 });
    expect(overview.jobs).toEqual({ total: 3, byStatus: { RUNNING: 2, FINISHED: 1 } });
  });

  it('rejects a wrong token with UNAUTHORIZED and tells unknown or lost sessions to re-register', async () => {
    const { registry, advance } = setup();
    const s = await registry.register({ host: 'h', dataPort: 9, slots: 1 });
    await expect(
      registry.heartbeat({ taskManagerId: s.taskManagerId, token: 'wrong', health }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(await registry.heartbeat({ taskManagerId: 'nobody', token: 'x', health })).toMatchObject({
      status: 'reregister',
    });
    advance(1000);
    await registry.checkLiveness();
    expect(
      await registry.heartbeat({ taskManagerId: s.taskManagerId, token: s.token, health }),
    ).toMatchObject({
      status: 'reregister',
    });
  });

  it('revives the row of a TaskManager that re-registers under its resource id', async () => {
    const { registry, store } = setup();
    const first = await registry.register({ resourceId: 'tm-a', host: 'h', dataPort: 9, slots: 1 });
    const again = await registry.register({
      resourceId: 'tm-a',
      host: 'h',
      dataPort: 10,
      slots: 4,
      sessionToken: first.token,
    });
    expect(again.taskManagerId).toBe('tm-a');
    expect(again.token).not.toBe(first.token);
    expect(store.rows.size).toBe(1);
    expect(store.rows.get('tm-a')).toMatchObject({ dataPort: 10, slots: 4, status: 'OK' });
    await expect(
      registry.heartbeat({ taskManagerId: 'tm-a', token: first.token, health }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("refuses a registration under a live session's resource id without that session's token, changing nothing", async () => {
    const { registry, store } = setup();
    const losses: string[] = [];
    registry.onLoss((l) => losses.push(l.id));
    const first = await registry.register({ resourceId: 'tm-a', host: 'h', dataPort: 9, slots: 2 });
    const version = registry.changes.version;
    for (const sessionToken of [undefined, 'not-the-token']) {
      await expect(
        registry.register({
          resourceId: 'tm-a',
          host: 'evil',
          dataPort: 666,
          slots: 64,
          ...(sessionToken === undefined ? {} : { sessionToken }),
        }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
    }
    expect(losses).toEqual([]);
    expect(registry.changes.version).toBe(version);
    expect(store.rows.get('tm-a')).toMatchObject({ host: 'h', dataPort: 9, slots: 2, status: 'OK' });
    expect(await registry.heartbeat({ taskManagerId: 'tm-a', token: first.token, health })).toEqual({
      status: 'ok',
    });
    expect(registry.schedulable()).toEqual([{ id: 'tm-a', host: 'h', dataPort: 9, slots: 2 }]);
  });

  it('admits a resource id again once its session ended (lost, deregistered, or inherited from a previous run)', async () => {
    const { registry, advance } = setup();
    await registry.register({ resourceId: 'tm-a', host: 'h', dataPort: 9, slots: 1 });
    advance(1000);
    await registry.checkLiveness();
    expect(
      (await registry.register({ resourceId: 'tm-a', host: 'h', dataPort: 9, slots: 1 })).taskManagerId,
    ).toBe('tm-a');
  });

  it('refuses registrations without the join secret, or with a wrong one, before anything changes', async () => {
    const store = memoryStore();
    const registry = new ClusterRegistry({
      store,
      logger: pino({ level: 'silent' }),
      version: 'test',
      heartbeatTimeoutMs: 1000,
      joinSecret: new JoinSecret('the-cluster-secret-0123456789', { kind: 'setting' }),
    });
    const before = store.rows.size;
    for (const joinSecret of [undefined, 'the-cluster-secret-012345678', '']) {
      await expect(
        registry.register({
          host: 'h',
          dataPort: 9,
          slots: 1,
          ...(joinSecret === undefined ? {} : { joinSecret }),
        }),
      ).rejects.toBeInstanceOf(UnauthorizedError);
    }
    expect(store.rows.size).toBe(before);
    expect(registry.schedulable()).toEqual([]);
    const ok = await registry.register({
      host: 'h',
      dataPort: 9,
      slots: 1,
      joinSecret: 'the-cluster-secret-0123456789',
    });
    expect(registry.hasSession(ok.taskManagerId)).toBe(true);
  });

  it('gives TaskManagers inherited from a previous run a full timeout to come back', async () => {
    const store = memoryStore();
    const old = setup(store);
    await old.registry.register({ resourceId: 'tm-old', host: 'h', dataPort: 9, slots: 1 });
    store.rows.get('tm-old')!.lastHeartbeatAt = new Date(0);
    const { registry, advance } = setup(store);
    await registry.restore();
    advance(999);
    await registry.checkLiveness();
    expect(store.rows.get('tm-old')!.status).toBe('LATE');
    advance(1);
    await registry.checkLiveness();
    expect(store.rows.get('tm-old')!.status).toBe('LOST');
  });

  it('marks a deregistered TaskManager DEREGISTERED and forgets its session', async () => {
    const { registry, store } = setup();
    const s = await registry.register({ host: 'h', dataPort: 9, slots: 1 });
    expect(await registry.deregister({ taskManagerId: s.taskManagerId, token: s.token })).toEqual({
      status: 'DEREGISTERED',
    });
    expect(store.rows.get(s.taskManagerId)!.status).toBe('DEREGISTERED');
    expect((await registry.overview()).slots.total).toBe(0);
    await expect(registry.get('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("does not count time the JobManager could not read heartbeats as a TaskManager's silence", async () => {
    const { registry, store, advance } = setup();
    const s = await registry.register({ host: 'h', dataPort: 9, slots: 1 });
    // The JobManager was held up for 1.2 s of the last 1.4 s: the TaskManager was silent 0.2 s.
    advance(1400);
    await registry.checkLiveness(1200);
    expect(store.rows.get(s.taskManagerId)!.status).toBe('OK');
    advance(300);
    await registry.checkLiveness();
    expect(store.rows.get(s.taskManagerId)!.status).toBe('LATE');
    advance(500);
    await registry.checkLiveness();
    expect(store.rows.get(s.taskManagerId)!.status).toBe('LOST');
  });
});
