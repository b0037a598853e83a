import { UnauthorizedError } from '@freshet/errors';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { TaskManagerHealth } from '@freshet/protocol';
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
    const again = await registry.register({ resourceId: 'tm-a', host: 'h', dataPort: 10, slots: 4 });
    expect(again.taskManagerId).toBe('tm-a');
    expect(again.token).not.toBe(first.token);
    expect(store.rows.size).toBe(1);
    expect(store.rows.get('tm-a')).toMatchObject({ dataPort: 10, slots: 4, status: 'OK' });
    await expect(
      registry.heartbeat({ taskManagerId: 'tm-a', token: first.token, health }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
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
