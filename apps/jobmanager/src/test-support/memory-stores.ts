/**
 * In-memory stand-ins for the JobManager's stores, for unit tests that run
 * the registry or the scheduler without a database. They keep what the real
 * stores persist, in plain collections tests can read; the Prisma
 * implementations are tested against a real database.
 */
import type { JobStatus } from '@freshet/db';
import type { TaskManagerHealth, TaskManagerStatus } from '@freshet/protocol';
import type { CompletedCheckpoint } from '@freshet/runtime';
import type { ClusterStore, TaskManagerRecord } from '../cluster/store.js';
import type { Execution } from '../jobs/execution-graph.js';
import type { JobEventInput, JobStore, NewJob, StoredJob } from '../jobs/job-store.js';

/** A {@link ClusterStore} in memory. */
export function memoryClusterStore(
  rows = new Map<string, TaskManagerRecord>(),
): ClusterStore & { rows: Map<string, TaskManagerRecord> } {
  return {
    kind: 'pglite',
    rows,
    listTaskManagers: () => Promise.resolve([...rows.values()]),
    getTaskManager: (id) => Promise.resolve(rows.get(id) ?? null),
    createTaskManager(id, reg, now) {
      const row: TaskManagerRecord = {
        id,
        ...reg,
        status: 'OK',
        registeredAt: now,
        lastHeartbeatAt: now,
        health: null,
      };
      rows.set(id, row);
      return Promise.resolve(row);
    },
    reviveTaskManager(id, reg, now) {
      const row: TaskManagerRecord = {
        ...rows.get(id)!,
        ...reg,
        status: 'OK',
        registeredAt: now,
        lastHeartbeatAt: now,
      };
      rows.set(id, row);
      return Promise.resolve(row);
    },
    recordHeartbeat(id, at: Date, health: TaskManagerHealth, status: TaskManagerStatus) {
      Object.assign(rows.get(id)!, { lastHeartbeatAt: at, health, status });
      return Promise.resolve();
    },
    setTaskManagerStatus(id, status) {
      rows.get(id)!.status = status;
      return Promise.resolve();
    },
    countJobsByStatus: () => Promise.resolve({ RUNNING: 2, FINISHED: 1 }),
  };
}

/** What {@link memoryJobStore} keeps. */
export interface MemoryJobState {
  jobs: Map<
    string,
    { job: NewJob; status: JobStatus; attempt: number; restarts: number; failureCause: string | null }
  >;
  /** Every Execution row, by id. */
  executions: Map<string, Execution & { failureCause: string | null }>;
  events: { jobId: string; kind: string; message: string; at: Date; executionId?: string }[];
  checkpoints: Map<
    string,
    { status: string; completed?: CompletedCheckpoint; discarded: boolean; reason?: string }
  >;
  /** What ended jobs left behind when they left memory, by job id. */
  archived: Map<string, { collected: unknown; metrics: unknown }>;
}

/** A {@link JobStore} in memory; `state` shows what it holds. */
export function memoryJobStore(): JobStore & { state: MemoryJobState } {
  const state: MemoryJobState = {
    jobs: new Map(),
    executions: new Map(),
    events: [],
    checkpoints: new Map(),
    archived: new Map(),
  };
  const cp = (jobId: string, id: number): string => `${jobId}#${id}`;
  const event = (jobId: string, e: JobEventInput | { kind: 'STATE'; message: string }, at: Date): void => {
    state.events.push({
      jobId,
      kind: e.kind,
      message: e.message,
      at,
      ...('executionId' in e && e.executionId !== undefined ? { executionId: e.executionId } : {}),
    });
  };
  return {
    state,
    createJob(job) {
      state.jobs.set(job.id, { job, status: 'CREATED', attempt: 0, restarts: 0, failureCause: null });
      for (const e of job.executions) state.executions.set(e.id, { ...e, failureCause: null });
      event(job.id, { kind: 'INFO', message: job.message }, job.createdAt);
      return Promise.resolve();
    },
    recordTransitions(jobId, transitions, at) {
      for (const t of transitions) {
        const row = state.executions.get(t.execution.id);
        if (row !== undefined) {
          Object.assign(row, { ...t.execution });
          if (t.to === 'FAILED') row.failureCause = t.error?.message ?? t.cause ?? null;
        }
        event(jobId, { kind: 'STATE', message: `${t.name} switched from ${t.from} to ${t.to}` }, at);
      }
      return Promise.resolve();
    },
    createAttempt(jobId, executions, counters) {
      for (const e of executions) state.executions.set(e.id, { ...e, failureCause: null });
      Object.assign(state.jobs.get(jobId)!, counters);
      return Promise.resolve();
    },
    setStatus(jobId, _name, change, why, _fields, at) {
      state.jobs.get(jobId)!.status = change.to;
      event(jobId, { kind: 'STATE', message: `switched from ${change.from} to ${change.to}: ${why}` }, at);
      return Promise.resolve();
    },
    recordEvent(jobId, e, at) {
      event(jobId, e, at);
      return Promise.resolve();
    },
    setFailureCause(jobId, cause) {
      state.jobs.get(jobId)!.failureCause = cause;
      return Promise.resolve();
    },
    archive(jobId, archived) {
      state.archived.set(jobId, archived);
      return Promise.resolve();
    },
    failureCauseOf: (id) => Promise.resolve(state.executions.get(id)?.failureCause ?? null),
    jobStatus: (jobId) => Promise.resolve(state.jobs.get(jobId)?.status ?? null),
    unfinishedJobs() {
      const out: StoredJob[] = [];
      for (const j of state.jobs.values()) {
        if (['FINISHED', 'FAILED', 'CANCELED'].includes(j.status)) continue;
        const newest = new Map<string, Execution>();
        for (const e of state.executions.values()) {
          const key = `${e.vertexId}#${e.subtask}`;
          if ((newest.get(key)?.attempt ?? -1) < e.attempt) newest.set(key, e);
        }
        const { executions: _all, message: _m, createdAt: _c, ...rest } = j.job;
        out.push({
          ...rest,
          status: j.status,
          attempt: j.attempt,
          restarts: j.restarts,
          executions: [...newest.values()],
        });
      }
      return Promise.resolve(out);
    },
    checkpointTriggered(jobId, c) {
      state.checkpoints.set(cp(jobId, c.checkpointId), { status: 'IN_PROGRESS', discarded: false });
      return Promise.resolve();
    },
    checkpointCompleted(jobId, c) {
      state.checkpoints.set(cp(jobId, c.checkpointId), {
        status: 'COMPLETED',
        completed: c,
        discarded: false,
      });
      return Promise.resolve();
    },
    abandonCheckpoints(jobId, reason) {
      for (const [k, v] of state.checkpoints) {
        if (k.startsWith(`${jobId}#`) && v.status === 'IN_PROGRESS')
          Object.assign(v, { status: 'FAILED', reason });
      }
      return Promise.resolve();
    },
    checkpointFailed(jobId, id, reason) {
      const c = state.checkpoints.get(cp(jobId, id));
      if (c?.status === 'IN_PROGRESS') Object.assign(c, { status: 'FAILED', reason });
      return Promise.resolve();
    },
    checkpointsDiscarded(jobId, ids) {
      for (const id of ids) {
        const c = state.checkpoints.get(cp(jobId, id));
        if (c !== undefined) c.discarded = true;
      }
      return Promise.resolve();
    },
    retainedCheckpoints(jobId, limit) {
      const done = [...state.checkpoints.entries()]
        .filter(([k, v]) => k.startsWith(`${jobId}#`) && v.status === 'COMPLETED' && !v.discarded)
        .map(([, v]) => v.completed!)
        .sort((a, b) => a.checkpointId - b.checkpointId);
      return Promise.resolve(done.slice(-limit));
    },
    nextCheckpointId(jobId) {
      let max = 0;
      for (const k of state.checkpoints.keys()) {
        if (k.startsWith(`${jobId}#`)) max = Math.max(max, Number(k.slice(jobId.length + 1)));
      }
      return Promise.resolve(max + 1);
    },
  };
}
