import { describe, expect, it } from 'vitest';
import type { CheckpointingSpec } from '@freshet/graph';
import { fixtureJob } from '../testing/fixture-graphs.js';
import {
  CheckpointCoordinator,
  type CheckpointCoordinatorHooks,
  type CompletedCheckpoint,
  type CoordinatorClock,
  type PendingCheckpointInfo,
} from './coordinator.js';
import type { DiscardRequest } from './storage.js';

/** A clock whose time moves only when the test says so; timers fire in time order. */
class FakeClock implements CoordinatorClock {
  time = 1_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time forward by `ms`, firing due timers (also ones set meanwhile). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}

/** Lets promise callbacks (the persist hooks) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** keyedSum at p=2: v1 (source -> map) and v3 (reduce -> sink), two subtasks each; v1 is the source. */
const { jobGraph } = fixtureJob('keyedSum', { p: 2 });
const [SRC, SUM] = jobGraph.vertices.map((v) => v.id) as [string, string];
const ALL = [`${SRC}#0`, `${SRC}#1`, `${SUM}#0`, `${SUM}#1`];

const spec = (overrides: Partial<CheckpointingSpec> = {}): CheckpointingSpec => ({
  intervalMs: 1000,
  mode: 'EXACTLY_ONCE',
  timeoutMs: 5000,
  minPauseBetweenCheckpointsMs: 0,
  tolerableCheckpointFailureNumber: -1,
  maxRetainedCheckpoints: 3,
  ...overrides,
});

interface Recorder {
  events: string[];
  triggers: { checkpoint: PendingCheckpointInfo; sources: string[] }[];
  completed: CompletedCheckpoint[];
  discarded: DiscardRequest[];
  failures: Error[];
  persist: (c: CompletedCheckpoint) => Promise<void>;
}

function setup(checkpointing: CheckpointingSpec | undefined = spec()) {
  const clock = new FakeClock();
  const rec: Recorder = {
    events: [],
    triggers: [],
    completed: [],
    discarded: [],
    failures: [],
    persist: () => Promise.resolve(),
  };
  const hooks: CheckpointCoordinatorHooks = {
    checkpointTriggered: (c) => {
      rec.events.push(`triggered ${c.checkpointId}`);
    },
    triggerSources: (checkpoint, sources) => {
      rec.triggers.push({ checkpoint, sources: sources.map((s) => `${s.vertexId}#${s.subtask}`) });
    },
    persistCompleted: async (c) => {
      await rec.persist(c);
      rec.completed.push(c);
      rec.events.push(`persisted ${c.checkpointId}`);
    },
    notifyComplete: (id) => {
      rec.events.push(`complete ${id}`);
    },
    notifyAborted: (id, reason) => {
      rec.events.push(`aborted ${id}: ${reason}`);
    },
    finishExecutions: (id, executions) => {
      rec.events.push(`finish ${id}: ${executions.map((e) => `${e.vertexId}#${e.subtask}`).join(',')}`);
    },
    discard: (request) => {
      rec.discarded.push(request);
    },
    failJob: (error) => {
      rec.failures.push(error);
    },
  };
  const coordinator = new CheckpointCoordinator({ jobId: 'job', jobGraph, checkpointing, hooks, clock });
  const start = (attempt = 0): void => {
    coordinator.startAttempt(attempt);
    for (const key of ALL) {
      const [v, s] = key.split('#') as [string, string];
      coordinator.executionRunning(v, Number(s), attempt);
    }
  };
  const ack = (checkpointId: number, key: string, attempt = 0, bytes = 10): void => {
    const [vertexId, s] = key.split('#') as [string, string];
    coordinator.acknowledge({
      checkpointId,
      vertexId,
      subtask: Number(s),
      attempt,
      handle: `chk-${checkpointId}/${vertexId}-${s}.state`,
      bytes,
      alignmentMs: vertexId === SUM ? 3 : 0,
      syncMs: 1,
      asyncMs: 2,
    });
  };
  const ackAll = (checkpointId: number, attempt = 0): void => {
    for (const key of ALL) ack(checkpointId, key, attempt);
  };
  const final = (key: string, afterCheckpointId: number, attempt = 0): void => {
    const [vertexId, s] = key.split('#') as [string, string];
    coordinator.acknowledgeFinalState({
      vertexId,
      subtask: Number(s),
      attempt,
      handle: `shared/final-${vertexId}-${s}-a${attempt}.state`,
      bytes: 5,
      syncMs: 1,
      asyncMs: 1,
      afterCheckpointId,
    });
  };
  return { clock, rec, coordinator, start, ack, ackAll, final };
}

describe('CheckpointCoordinator: triggering and completion', () => {
  it('triggers every interval at the running sources and completes once every execution acknowledged', async () => {
    const { clock, rec, coordinator, start, ack, ackAll } = setup();
    start();
    clock.advance(999);
    expect(rec.triggers).toEqual([]);
    clock.advance(1);
    expect(rec.events).toEqual(['triggered 1']);
    expect(rec.triggers).toEqual([
      {
        checkpoint: { checkpointId: 1, attempt: 0, triggeredAt: 1_001_000 },
        sources: [`${SRC}#0`, `${SRC}#1`],
      },
    ]);
    clock.advance(40);
    for (const key of ALL.slice(0, 3)) ack(1, key);
    await settle();
    expect(rec.completed).toEqual([]);
    ack(1, ALL[3]!, 0, 100);
    await settle();
    expect(rec.events).toEqual(['triggered 1', 'persisted 1', 'complete 1']);
    const c = rec.completed[0]!;
    expect(c).toMatchObject({
      jobId: 'job',
      checkpointId: 1,
      attempt: 0,
      durationMs: 40,
      bytes: 130,
      alignmentMs: 3,
    });
    expect(c.subtasks.map((s) => `${s.vertexId}#${s.subtask}`)).toEqual(ALL);
    expect(c.states.get(`${SUM}#1`)).toEqual({ handle: `chk-1/${SUM}-1.state`, bytes: 100, final: false });
    expect(coordinator.latestCompleted).toBe(c);
    // The next checkpoint is due an interval after the previous trigger.
    clock.advance(959);
    expect(rec.triggers).toHaveLength(1);
    clock.advance(1);
    expect(rec.triggers.map((t) => t.checkpoint.checkpointId)).toEqual([1, 2]);
    ackAll(2);
    await settle();
    expect(coordinator.completedCheckpoints.map((x) => x.checkpointId)).toEqual([1, 2]);
  });

  it('keeps one checkpoint in flight and waits the minimum pause after one ends', async () => {
    const { clock, rec, start, ackAll } = setup(spec({ intervalMs: 100, minPauseBetweenCheckpointsMs: 500 }));
    start();
    clock.advance(100);
    expect(rec.triggers).toHaveLength(1);
    clock.advance(1000);
    expect(rec.triggers).toHaveLength(1); // checkpoint 1 still in flight
    ackAll(1);
    await settle();
    clock.advance(499);
    expect(rec.triggers).toHaveLength(1);
    clock.advance(1);
    expect(rec.triggers.map((t) => t.checkpoint.checkpointId)).toEqual([1, 2]);
  });

  it('triggers only while every execution runs, and as soon as they all do', () => {
    const { clock, rec, coordinator } = setup();
    coordinator.startAttempt(0);
    coordinator.executionRunning(SRC, 0, 0);
    coordinator.executionRunning(SRC, 1, 0);
    coordinator.executionRunning(SUM, 0, 0);
    clock.advance(5000);
    expect(rec.triggers).toEqual([]);
    coordinator.executionRunning(SUM, 1, 7); // another attempt: fenced
    expect(rec.triggers).toEqual([]);
    coordinator.executionRunning(SUM, 1, 0);
    expect(rec.triggers.map((t) => t.checkpoint.checkpointId)).toEqual([1]);
  });

  it('sends the triggers only once the checkpoint is recorded as in progress', async () => {
    const { clock, rec, coordinator, start } = setup();
    let release!: () => void;
    const recorded = new Promise<void>((resolve) => (release = resolve));
    (coordinator as unknown as { hooks: CheckpointCoordinatorHooks }).hooks.checkpointTriggered = () =>
      recorded;
    start();
    clock.advance(1000);
    await settle();
    expect(rec.triggers).toEqual([]);
    release();
    await settle();
    expect(rec.triggers).toHaveLength(1);
  });

  it('triggers by hand, once, only when it can', () => {
    const { rec, coordinator, start } = setup(undefined);
    expect(coordinator.triggerCheckpoint()).toBeUndefined();
    start();
    expect(coordinator.triggerCheckpoint()).toBe(1);
    expect(coordinator.triggerCheckpoint()).toBeUndefined();
    expect(rec.triggers).toHaveLength(1);
  });
});

describe('CheckpointCoordinator: aborts and failures', () => {
  it('aborts a checkpoint on timeout, deletes what was stored for it and tries again', async () => {
    const { clock, rec, start, ack, ackAll } = setup(spec({ timeoutMs: 300 }));
    start();
    clock.advance(1000);
    ack(1, ALL[0]!);
    clock.advance(300);
    expect(rec.events).toContain('aborted 1: checkpoint 1 expired after 300 ms');
    expect(rec.discarded).toEqual([{ checkpointId: 1, handles: [`chk-1/${SRC}-0.state`] }]);
    // A late acknowledgement of the aborted checkpoint: its data is deleted too.
    ack(1, ALL[1]!);
    expect(rec.discarded.at(-1)).toEqual({ handles: [`chk-1/${SRC}-1.state`] });
    clock.advance(700);
    expect(rec.triggers.map((t) => t.checkpoint.checkpointId)).toEqual([1, 2]);
    ackAll(2);
    await settle();
    expect(rec.completed.map((c) => c.checkpointId)).toEqual([2]);
  });

  it('aborts a declined checkpoint', () => {
    const { clock, rec, coordinator, start } = setup();
    start();
    clock.advance(1000);
    coordinator.decline(1, SUM, 1, 0, 'a newer barrier arrived while aligning');
    expect(rec.events).toContain(
      `aborted 1: checkpoint 1 was declined by ${SUM}#1: a newer barrier arrived while aligning`,
    );
    expect(coordinator.pendingCheckpoint).toBeUndefined();
  });

  it('fails the job after more consecutive failures than tolerated; a completed checkpoint resets the count', async () => {
    const { clock, rec, start, ackAll } = setup(
      spec({ timeoutMs: 100, tolerableCheckpointFailureNumber: 1 }),
    );
    start();
    clock.advance(1100); // checkpoint 1 expires: one failure
    clock.advance(900); // checkpoint 2 is triggered and completes: the count starts again
    ackAll(2);
    await settle();
    expect(rec.completed.map((c) => c.checkpointId)).toEqual([2]);
    clock.advance(1100); // checkpoint 3 expires
    expect(rec.failures).toHaveLength(0);
    clock.advance(1000); // checkpoint 4 expires: two in a row
    expect(rec.failures).toHaveLength(1);
    expect(rec.failures[0]!.name).toBe('CheckpointFailureError');
    expect(rec.failures[0]!.message).toBe(
      '2 consecutive checkpoints failed (tolerable: 1); the last: checkpoint 4 expired after 100 ms',
    );
  });

  it('aborts a checkpoint whose completion cannot be persisted, and counts it as a failure', async () => {
    const { clock, rec, start, ackAll } = setup(spec({ tolerableCheckpointFailureNumber: 0 }));
    rec.persist = () => Promise.reject(new Error('disk full'));
    start();
    clock.advance(1000);
    ackAll(1);
    await settle();
    expect(rec.events).toContain('aborted 1: checkpoint 1 could not be persisted: disk full');
    expect(rec.failures.map((f) => f.message)).toEqual([
      '1 consecutive checkpoint failed (tolerable: 0); the last: checkpoint 1 could not be persisted: disk full',
    ]);
  });

  it('ignores acknowledgements of another attempt (fencing)', async () => {
    const { clock, rec, start, ack, ackAll } = setup();
    start(3);
    clock.advance(1000);
    ackAll(1, 2);
    await settle();
    expect(rec.completed).toEqual([]);
    // What the stale attempt stored is deleted.
    expect(rec.discarded).toHaveLength(4);
    for (const key of ALL) ack(1, key, 3);
    await settle();
    expect(rec.completed.map((c) => c.attempt)).toEqual([3]);
  });
});

describe('CheckpointCoordinator: retention', () => {
  it('keeps the last maxRetainedCheckpoints and deletes the data of older ones', async () => {
    const { clock, rec, start, ackAll } = setup(spec({ maxRetainedCheckpoints: 2 }));
    start();
    for (let id = 1; id <= 3; id++) {
      clock.advance(1000);
      ackAll(id);
      await settle();
    }
    expect(rec.discarded).toEqual([
      { checkpointId: 1, handles: ALL.map((key) => `chk-1/${key.replace('#', '-')}.state`) },
    ]);
  });

  it('keeps a final state that a retained checkpoint still refers to', async () => {
    const { clock, rec, start, ackAll, ack, final } = setup(spec({ maxRetainedCheckpoints: 1 }));
    start();
    clock.advance(1000);
    ackAll(1);
    await settle();
    final(`${SRC}#0`, 1);
    clock.advance(1000);
    for (const key of ALL.slice(1)) ack(2, key);
    await settle();
    clock.advance(1000);
    for (const key of ALL.slice(1)) ack(3, key);
    await settle();
    expect(rec.completed.map((c) => c.states.get(`${SRC}#0`)!.handle)).toEqual([
      `chk-1/${SRC}-0.state`,
      `shared/final-${SRC}-0-a0.state`,
      `shared/final-${SRC}-0-a0.state`,
    ]);
    // Checkpoint 2 is gone, but its final state of v1#0 is in checkpoint 3.
    expect(rec.discarded.at(-1)).toEqual({
      checkpointId: 2,
      handles: ALL.slice(1).map((key) => `chk-2/${key.replace('#', '-')}.state`),
    });
  });
});

describe('CheckpointCoordinator: final states', () => {
  it('counts a final state as the acknowledgement of later checkpoints and finishes that execution on completion', async () => {
    const { clock, rec, start, ack, final } = setup();
    start();
    final(`${SRC}#1`, 0);
    clock.advance(1000);
    expect(rec.triggers[0]!.sources).toEqual([`${SRC}#0`]);
    for (const key of [ALL[0]!, ALL[2]!, ALL[3]!]) ack(1, key);
    await settle();
    const c = rec.completed[0]!;
    expect(c.states.get(`${SRC}#1`)).toEqual({
      handle: `shared/final-${SRC}-1-a0.state`,
      bytes: 5,
      final: true,
    });
    expect(rec.events.slice(-2)).toEqual(['complete 1', `finish 1: ${SRC}#1`]);
  });

  it('does not count a final state for a checkpoint whose barrier the execution saw: its own acknowledgement must come', async () => {
    const { clock, rec, start, ack, final } = setup();
    start();
    clock.advance(1000);
    for (const key of [ALL[0]!, ALL[1]!, ALL[2]!]) ack(1, key);
    final(`${SUM}#1`, 1);
    await settle();
    expect(rec.completed).toEqual([]);
    ack(1, ALL[3]!);
    await settle();
    expect(rec.completed[0]!.states.get(`${SUM}#1`)!.final).toBe(false);
    // Its final state is for checkpoint 2 on; as every execution is not final yet, checkpoint 2 needs the others.
    expect(rec.events).not.toContain(`finish 1: ${SUM}#1`);
  });

  it('completes a checkpoint at once, without barriers, when every execution delivered its final state', async () => {
    const { rec, start, final } = setup(undefined);
    start();
    final(`${SRC}#0`, 0);
    final(`${SRC}#1`, 0);
    final(`${SUM}#0`, 0);
    await settle();
    expect(rec.completed).toEqual([]);
    final(`${SUM}#1`, 0);
    await settle();
    expect(rec.triggers).toEqual([]);
    expect(rec.completed.map((c) => [c.checkpointId, [...c.states.values()].every((s) => s.final)])).toEqual([
      [1, true],
    ]);
    expect(rec.events).toEqual(['persisted 1', 'complete 1', `finish 1: ${ALL.join(',')}`]);
  });

  it('restores final executions as final (they finish by themselves) and drops the final states of a failed attempt', async () => {
    const { clock, rec, coordinator, start, final, ack } = setup();
    start();
    final(`${SRC}#0`, 0);
    clock.advance(1000);
    for (const key of ALL.slice(1)) ack(1, key);
    await settle();
    final(`${SRC}#1`, 1); // attempt 0's final state of v1#1, in no completed checkpoint
    coordinator.startAttempt(1);
    expect(rec.discarded.at(-1)).toEqual({ handles: [`shared/final-${SRC}-1-a0.state`] });
    for (const key of ALL.slice(1)) {
      const [v, s] = key.split('#') as [string, string];
      coordinator.executionRunning(v, Number(s), 1);
    }
    clock.advance(1000);
    // v1#0 is final from checkpoint 1: only v1#1 gets a trigger, and v1#0 is not told to finish again.
    expect(rec.triggers.at(-1)!.sources).toEqual([`${SRC}#1`]);
    for (const key of ALL.slice(1)) ack(2, key, 1);
    await settle();
    expect(rec.completed.at(-1)!.states.get(`${SRC}#0`)).toMatchObject({ final: true });
    expect(rec.events.filter((e) => e.startsWith('finish'))).toEqual([`finish 1: ${SRC}#0`]);
  });
});

describe('CheckpointCoordinator: restarts', () => {
  it('aborts the pending checkpoint when an attempt starts, without counting it as a failure', () => {
    const { clock, rec, coordinator, start } = setup(spec({ tolerableCheckpointFailureNumber: 0 }));
    start();
    clock.advance(1000);
    coordinator.startAttempt(1);
    expect(rec.events).toContain('aborted 1: job attempt 1 is starting');
    expect(rec.failures).toEqual([]);
    expect(coordinator.nextCheckpointId).toBe(2);
  });

  it('quiesce lets a checkpoint being persisted complete, and aborts one still collecting', async () => {
    const { clock, rec, coordinator, start, ackAll } = setup();
    let release!: () => void;
    rec.persist = () => new Promise<void>((resolve) => (release = resolve));
    start();
    clock.advance(1000);
    ackAll(1);
    const quiet = coordinator.quiesce('a task failed');
    let done = false;
    void quiet.then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    release();
    await quiet;
    expect(coordinator.latestCompleted?.checkpointId).toBe(1);
    rec.persist = () => Promise.resolve();
    clock.advance(1000);
    await coordinator.quiesce('a task failed');
    expect(rec.events.at(-1)).toBe('aborted 2: a task failed');
  });

  it('continues the checkpoint ids after the ones it was given', () => {
    const clock = new FakeClock();
    const coordinator = new CheckpointCoordinator({
      jobId: 'job',
      jobGraph,
      hooks: {} as CheckpointCoordinatorHooks,
      clock,
      nextCheckpointId: 12,
    });
    expect(coordinator.nextCheckpointId).toBe(12);
  });
});
