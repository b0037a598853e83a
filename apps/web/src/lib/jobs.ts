/**
 * What the job pages show, and the helpers that read it. The shapes follow the
 * JobManager's `jobs.*` procedures; components take these as props so they
 * stay pure and testable.
 */
import {
  JOB_STATUSES,
  type ExecutionState,
  type JobGraph,
  type JobStatus,
  type JobVertex,
  type Partitioning,
} from '@freshet/protocol';
import type { VertexMetrics } from '@freshet/jobmanager/router';

export type { JobGraph, JobVertex, Partitioning, VertexMetrics };

/** States a job never leaves. */
const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** Whether `status` is final (the job holds no slots and will not change again). */
export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** Job statuses a job never leaves (the overview's "recently ended"). */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => TERMINAL.has(s));
/** Job statuses of a job not yet ended (the overview's "running"). */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => !TERMINAL.has(s));

/** A job's subtasks (their newest attempts): running, finished and all of them. */
export function taskProgress(tasks: Partial<Record<ExecutionState, number>>): {
  running: number;
  finished: number;
  total: number;
} {
  let total = 0;
  for (const n of Object.values(tasks)) total += n;
  return { running: tasks.RUNNING ?? 0, finished: tasks.FINISHED ?? 0, total };
}

/** Tone of a job or subtask state, for badges: running, done, failed, stopping or idle. */
export type StatusTone = 'running' | 'done' | 'failed' | 'stopping' | 'idle';

/** The colour family of a job or subtask state. */
export function statusTone(status: string): StatusTone {
  switch (status) {
    case 'RUNNING':
    case 'INITIALIZING':
    case 'DEPLOYING':
      return 'running';
    case 'FINISHED':
      return 'done';
    case 'FAILED':
    case 'FAILING':
      return 'failed';
    case 'CANCELLING':
    case 'CANCELING':
    case 'CANCELED':
    case 'CANCELLED':
    case 'RESTARTING':
      return 'stopping';
    default:
      return 'idle';
  }
}

/** A vertex's fill colour ramp: idle (cool) to busy (warm) to backpressured (red). */
export function loadColor(busy: number, backpressure: number): string {
  // Backpressure dominates: a vertex waiting on its consumers is the signal to act on.
  if (backpressure >= 0.1) {
    const t = Math.min(1, (backpressure - 0.1) / 0.6);
    return `hsl(${Math.round(30 - 30 * t)} 85% ${Math.round(55 - 8 * t)}%)`;
  }
  const t = Math.min(1, Math.max(0, busy));
  // 210 (blue, idle) -> 130 (green) -> 45 (amber, fully busy)
  const hue = Math.round(210 - 165 * t);
  return `hsl(${hue} 70% 50%)`;
}

/** The state a vertex shows: the "most active" state among its subtasks. */
export function vertexStatus(states: readonly string[], jobStatus: string): string {
  if (states.length === 0) return isTerminal(jobStatus) ? jobStatus : 'CREATED';
  const order = [
    'FAILED',
    'RUNNING',
    'INITIALIZING',
    'DEPLOYING',
    'SCHEDULED',
    'CANCELING',
    'CREATED',
    'CANCELED',
    'FINISHED',
  ];
  for (const s of order) if (states.includes(s)) return s;
  return states[0]!;
}
