// The scheduler's decisions — deploy, region failover, slot replacement,
// restart strategies, fencing, reconciliation — driven by hand: TaskManagers
// are registry sessions, their reports are calls, commands are recorded, and
// time is a manual clock. No processes, no database.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobGraph, RestartStrategySpec, TaskManagerCommand } from '@freshet/protocol';
import { DirectoryCheckpointStorage, type CoordinatorClock } from '@freshet/runtime';
import { fixtureJob } from '@freshet/runtime/testing';
import { ClusterRegistry } from '../cluster/registry.js';
import { memoryClusterStore, memoryJobStore } from '../test-support/memory-stores.js';
import type { ExecutionState } from '@freshet/protocol';
import { Scheduler, type ActiveJob } from './scheduler.js';
import { SlotPool } from './slot-pool.js';

/** Timers fire only when the test advances the clock. */
class ManualClock implements CoordinatorClock {
  t = 1_000_000;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };
  /** Moves time forward, firing due timers in order (also those they schedule within the step). */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].at <= until && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = until;
  }
}

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'freshet-scheduler-test-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function cluster(taskManagers: Record<string, number>) {
  const clock = new ManualClock();
  const logger = pino({ level: 'silent' });
  const registry = new ClusterRegistry({
    store: memoryClusterStore(),
    logger,
    version: 'test',
    heartbeatTimeoutMs: 1000,
    now: clock.now,
  });
  let port = 40_000;
  for (const [id, slots] of Object.entries(taskManagers))
    await registry.register({ resourceId: id, host: '127.0.0.1', dataPort: ++port, slots });
  const store = memoryJobStore();
  const sent: { tm: string; command: TaskManagerCommand }[] = [];
  let n = 0;
  const pool = new SlotPool();
  const scheduler = new Scheduler({
    store,
    registry,
    pool,
    gateway: { send: (tm, command) => sent.push({ tm, command }) },
    logger,
    clock,
    storage: new DirectoryCheckpointStorage(work),
    newId: () => `e${++n}`,
    slotRequestTimeoutMs: 5000,
    cancelTimeoutMs: 2000,
  });
  registry.onLoss((loss) => void scheduler.onTaskManagerLost(loss));
  // As the JobService wires them; and, as its watcher of cluster changes does, every
  // registration lets waiting jobs look for slots.
  registry.onRegistration((tm, input) => {
    scheduler.registered(tm, input.running ?? []);
  });
  let watched = registry.changes.version;
  const watch = (): void => {
    void registry.changes.next(watched).then(() => {
      watched = registry.changes.version;
      void scheduler.serial(() => scheduler.scheduleWaiting());
      watch();
    });
  };
  watch();
  const settle = () => scheduler.serial(() => Promise.resolve());

  async function submit(jobGraph: JobGraph, restartStrategy: RestartStrategySpec): Promise<ActiveJob> {
    const id = `job-${++n}`;
    const stored = {
      id,
      name: 'test job',
      artifactId: 'a',
      bundleSha256: '0'.repeat(64),
      runtimeMode: jobGraph.runtimeMode,
      planHash: jobGraph.planHash,
      jobGraph: { ...jobGraph, restartStrategy },
      program: { args: [] },
      restartStrategy,
      status: 'CREATED' as const,
      attempt: 0,
      restarts: 0,
      executions: [],
    };
    const job = scheduler.activate(stored, 1, []);
    await store.createJob({
      ...stored,
      createdAt: new Date(clock.now()),
      executions: job.graph.vertices().map((v) => v.current),
      message: 'submitted',
    });
    await scheduler.submit(job);
    return job;
  }

  /** Reports `state` for the current executions of `job` on `tm` (all, or those `where` selects). */
  async function report(
    tm: string,
    job: ActiveJob,
    state: ExecutionState,
    where: (key: string) => boolean = () => true,
  ): Promise<number> {
    const updates = job.graph
      .vertices()
      .filter((v) => v.current.taskManagerId === tm && where(v.key))
      .map((v) => ({
        jobId: job.id,
        attempt: v.current.attempt,
        vertexId: v.vertexId,
        subtaskIndex: v.subtask,
        state,
        at: clock.now(),
        ...(state === 'FAILED' ? { error: { name: 'Error', message: `boom in ${v.key}` } } : {}),
      }));
    return scheduler.reportStates(tm, updates);
  }

  const commands = (type: TaskManagerCommand['type']) => sent.filter((s) => s.command.type === type);
  return { clock, registry, store, pool, sent, scheduler, settle, submit, report, commands };
}

const forwardJob = () => fixtureJob('partition', { srcP: 2, dstP: 2, partitioning: 'FORWARD' }).jobGraph;
const keyedJob = () => fixtureJob('keyedSum', { p: 2 }).jobGraph;
const attempts = (job: ActiveJob) =>
  job.graph.vertices().map((v) => `${v.key}@${v.current.attempt}:${v.current.state}`);

describe('Scheduler', () => {
  it('deploys every region of a job, one deploy command per region and TaskManager, and runs it', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1 });
    const job = await c.submit(forwardJob(), { type: 'none' });
    const deploys = c.commands('deploy').map((s) => {
      const d = (s.command as Extract<TaskManagerCommand, { type: 'deploy' }>).deployment;
      return [s.tm, d.region, d.attempt, d.subtasks.map((t) => `${t.vertexId}#${t.subtask}`).join(',')];
    });
    expect(deploys).toEqual([
      ['tm-a', 0, 0, 'v1#0,v3#0'],
      ['tm-b', 1, 0, 'v1#1,v3#1'],
    ]);
    await c.report('tm-a', job, 'RUNNING');
    expect(job.graph.status).toBe('CREATED');
    await c.report('tm-b', job, 'RUNNING');
    expect(job.graph.status).toBe('RUNNING');
  });

  it('restarts only the failed region, after the strategy delay, as a new attempt; the other region keeps its attempt', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1 });
    const job = await c.submit(forwardJob(), { type: 'fixed-delay', attempts: 3, delayMs: 100 });
    await c.report('tm-a', job, 'RUNNING');
    await c.report('tm-b', job, 'RUNNING');
    c.sent.length = 0;

    await c.report('tm-b', job, 'FAILED', (k) => k === 'v1#1');
    expect(job.graph.status).toBe('RESTARTING');
    expect(c.sent).toEqual([
      { tm: 'tm-b', command: { type: 'cancel', jobId: job.id, attempt: 0, regions: [1] } },
    ]);
    expect(attempts(job)).toEqual(['v1#0@0:RUNNING', 'v1#1@0:FAILED', 'v3#0@0:RUNNING', 'v3#1@0:CANCELING']);

    await c.report('tm-b', job, 'CANCELED', (k) => k === 'v3#1');
    expect(c.commands('deploy')).toEqual([]); // the strategy's delay has not passed
    c.clock.advance(100);
    await c.settle();
    const [redeploy] = c.commands('deploy');
    expect(redeploy?.tm).toBe('tm-b');
    expect(redeploy?.command).toMatchObject({ deployment: { attempt: 1, region: 1 } });
    expect(attempts(job)).toEqual([
      'v1#0@0:RUNNING',
      'v1#1@1:DEPLOYING',
      'v3#0@0:RUNNING',
      'v3#1@1:DEPLOYING',
    ]);

    // The old attempt's late report is fenced; the new attempt's RUNNING ends the restart.
    expect(
      await c.scheduler.reportStates('tm-b', [
        { jobId: job.id, attempt: 0, vertexId: 'v1', subtaskIndex: 1, state: 'FINISHED', at: 0 },
      ]),
    ).toBe(0);
    await c.report('tm-b', job, 'RUNNING');
    expect(job.graph.status).toBe('RUNNING');
    expect(job.graph.restarts).toBe(1);
    expect(c.store.state.jobs.get(job.id)).toMatchObject({ attempt: 1, restarts: 1, status: 'RUNNING' });
  });

  it('moves the regions of a lost TaskManager to a free slot elsewhere; a job joined by a hash exchange restarts whole', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1, 'tm-c': 1 });
    const job = await c.submit(keyedJob(), { type: 'fixed-delay', attempts: 3, delayMs: 0 });
    expect(new Set(job.graph.slots.map((s) => s?.taskManagerId))).toEqual(new Set(['tm-a', 'tm-b']));
    await c.report('tm-a', job, 'RUNNING');
    await c.report('tm-b', job, 'RUNNING');
    c.sent.length = 0;

    expect(c.registry.declareLost('tm-b', 'its data connection broke')).toBe(true);
    await c.settle();
    expect(job.graph.status).toBe('RESTARTING');
    // One region: tm-a's executions are cancelled too.
    expect(c.sent).toEqual([
      { tm: 'tm-a', command: { type: 'cancel', jobId: job.id, attempt: 0, regions: [0] } },
    ]);
    expect(
      job.graph
        .vertices()
        .filter((v) => v.current.taskManagerId === 'tm-b')
        .every((v) => v.current.state === 'FAILED'),
    ).toBe(true);
    await c.report('tm-a', job, 'CANCELED');
    await c.settle();
    const hosts = c
      .commands('deploy')
      .map((s) => s.tm)
      .sort();
    expect(hosts).toEqual(['tm-a', 'tm-c']);
    expect(job.graph.slots.map((s) => s?.taskManagerId)).toEqual(
      job.graph.slots.map((s) => (s?.taskManagerId === 'tm-b' ? 'tm-c' : s?.taskManagerId)),
    );
    expect(job.graph.vertices().every((v) => v.current.attempt === 1)).toBe(true);
  });

  it('fails the job with the root cause once the restart strategy is exhausted', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1 });
    const job = await c.submit(forwardJob(), { type: 'fixed-delay', attempts: 1, delayMs: 0 });
    await c.report('tm-a', job, 'RUNNING');
    await c.report('tm-b', job, 'RUNNING');
    await c.report('tm-a', job, 'FAILED', (k) => k === 'v1#0');
    await c.report('tm-a', job, 'CANCELED', (k) => k === 'v3#0');
    await c.settle();
    await c.report('tm-a', job, 'RUNNING');
    expect(job.graph.status).toBe('RUNNING');
    // The second failure is one too many: the job fails, cancelling the region that still ran.
    await c.report('tm-a', job, 'FAILED', (k) => k === 'v3#0');
    expect(job.graph.status).toBe('FAILING');
    await c.report('tm-a', job, 'CANCELED');
    await c.report('tm-b', job, 'CANCELED');
    expect(job.graph.status).toBe('FAILED');
    expect(c.store.state.jobs.get(job.id)!.failureCause).toBe('Error: boom in v3#0');
    expect(
      c.store.state.events.some(
        (e) =>
          e.kind === 'EXCEPTION' &&
          e.message === 'tag -> collect (1/2) on TaskManager tm-a failed: Error: boom in v3#0',
      ),
    ).toBe(true);
    expect(
      c.store.state.events.some((e) => e.message.includes('fixed-delay: all 1 restart attempt used')),
    ).toBe(true);
  });

  it('waits for slots up to the slot-request timeout, then asks the strategy again', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1 });
    const job = await c.submit(keyedJob(), { type: 'fixed-delay', attempts: 1, delayMs: 0 });
    await c.report('tm-a', job, 'RUNNING');
    await c.report('tm-b', job, 'RUNNING');
    c.registry.declareLost('tm-b', 'gone');
    await c.settle();
    await c.report('tm-a', job, 'CANCELED');
    await c.settle();
    expect(job.graph.status).toBe('RESTARTING');
    expect(c.store.state.events.some((e) => e.message.startsWith('Waiting for 1 task slots'))).toBe(true);
    c.clock.advance(5000);
    await c.settle();
    await c.settle();
    expect(job.graph.status).toBe('FAILED');
    expect(
      c.store.state.events.some((e) => e.message.startsWith('No task slots for the restart within 5000 ms')),
    ).toBe(true);
  });

  it('cancels what a TaskManager runs that is not current, and counts those slots used until they are gone', async () => {
    const c = await cluster({ 'tm-a': 2 });
    const tm = c.registry.schedulable()[0]!;
    c.scheduler.reconcile(tm, [{ jobId: 'old-job', attempt: 4, region: 0, slotIndexes: [1] }]);
    expect(c.sent).toEqual([
      { tm: 'tm-a', command: { type: 'cancel', jobId: 'old-job', attempt: 4, regions: [0] } },
    ]);
    // A job that needs both slots cannot start while the stale task holds one.
    const job = await c.submit(keyedJob(), { type: 'none' });
    expect(job.graph.slots).toEqual([]);
    c.scheduler.reconcile(tm, []);
    await c.settle();
    await c.settle();
    expect(job.graph.slots.map((s) => s?.slotIndex).sort()).toEqual([0, 1]);
  });

  it('books the slots a registering TaskManager reports busy before any waiting job can take them', async () => {
    const c = await cluster({});
    const job = await c.submit(keyedJob(), { type: 'none' });
    // What the slot book says at the moment the registration is announced (listeners run in order).
    const atAnnouncement: number[] = [];
    c.registry.onRegistration((tm) => atAnnouncement.push(c.pool.used(tm.id)));
    // A JobManager restart: the TaskManager comes back still running a task of an attempt no longer current.
    await c.registry.register({
      resourceId: 'tm-a',
      host: '127.0.0.1',
      dataPort: 41_000,
      slots: 2,
      running: [{ jobId: 'old-job', attempt: 2, region: 0, slotIndexes: [1] }],
    });
    expect(atAnnouncement).toEqual([1]);
    await c.settle();
    await c.settle();
    expect(job.graph.slots).toEqual([]);
    expect(c.sent).toContainEqual({
      tm: 'tm-a',
      command: { type: 'cancel', jobId: 'old-job', attempt: 2, regions: [0] },
    });
    c.scheduler.reconcile(c.registry.schedulable()[0]!, []);
    await c.settle();
    await c.settle();
    expect(job.graph.slots.map((s) => s?.slotIndex).sort()).toEqual([0, 1]);
  });

  it('records the loss of a TaskManager as an exception of one of the executions it took down', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1, 'tm-c': 1 });
    const job = await c.submit(keyedJob(), { type: 'fixed-delay', attempts: 3, delayMs: 0 });
    await c.report('tm-a', job, 'RUNNING');
    await c.report('tm-b', job, 'RUNNING');
    expect(c.registry.declareLost('tm-b', 'no heartbeat for 1000 ms')).toBe(true);
    await c.settle();
    const exceptions = c.store.state.events.filter((e) => e.jobId === job.id && e.kind === 'EXCEPTION');
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]!.message).toMatch(/^TaskManager tm-b .*was lost: no heartbeat for 1000 ms$/);
    // The Exceptions tab reads subtask, attempt and TaskManager from that execution.
    const execution = c.store.state.executions.get(exceptions[0]!.executionId ?? 'none');
    expect(execution).toMatchObject({ taskManagerId: 'tm-b', attempt: 0, state: 'FAILED' });
  });

  it('replaces the slot of a TaskManager that was lost, even when it registered again before the restart', async () => {
    const c = await cluster({ 'tm-a': 1, 'tm-b': 1, 'tm-c': 1 });
    const job = await c.submit(keyedJob(), { type: 'fixed-delay', attempts: 3, delayMs: 0 });
    const onB = job.graph.slots.findIndex((s) => s?.taskManagerId === 'tm-b');
    await c.report('tm-a', job, 'RUNNING');
    await c.report('tm-b', job, 'RUNNING');
    // Frozen past the heartbeat timeout, then thawed: it registers again, its stale task still running.
    expect(c.registry.declareLost('tm-b', 'no heartbeat for 1000 ms')).toBe(true);
    await c.settle();
    await c.registry.register({
      resourceId: 'tm-b',
      host: '127.0.0.1',
      dataPort: 40_002,
      slots: 1,
      running: [{ jobId: job.id, attempt: 0, region: 0, slotIndexes: [0] }],
    });
    await c.settle();
    c.sent.length = 0;
    await c.report('tm-a', job, 'CANCELED');
    await c.settle();
    await c.settle();
    expect(job.graph.slots[onB]?.taskManagerId).toBe('tm-c');
    expect(
      c
        .commands('deploy')
        .map((s) => s.tm)
        .sort(),
    ).toEqual(['tm-a', 'tm-c']);
  });
});
