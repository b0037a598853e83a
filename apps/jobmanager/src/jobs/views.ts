/**
 * What `jobs.list` and `jobs.get` return: read from the database (so a
 * restarted JobManager shows every job, event and exception) and enriched
 * with the live metrics held in memory. Dates are ISO strings, metric time
 * stamps epoch milliseconds, BigInt ids plain numbers.
 */
import { z } from 'zod';
import type { FreshetDatabase, JobStatus } from '@freshet/db';
import {
  ExecutionStateSchema,
  JOB_STATUSES,
  JobGraphSchema,
  JobStatusSchema,
  RestartStrategySpecSchema,
  StoredTextSchema,
  type CheckpointingSpec,
  type ExecutionState,
  type JobGraph,
  type RestartStrategySpec,
  type Partitioning,
  type RuntimeMode,
  type StateBackendKind,
} from '@freshet/protocol';
import type { ClusterRegistry } from '../cluster/registry.js';
import type { AccumulatorResult } from '@freshet/runtime';
import {
  archivedMetrics,
  type MetricsSnapshot,
  type MetricsStore,
  type SubtaskMetrics,
  type VertexMetrics,
} from './metrics.js';
import { notFound, slotsNeeded } from './service.js';

/** Input of `jobs.list`. */
export const ListJobsInputSchema = z
  .object({
    status: z.array(JobStatusSchema).max(JOB_STATUSES.length).optional(),
    limit: z.int().min(1).max(500).default(50),
    /** `nextCursor` of the previous page. */
    cursor: StoredTextSchema.min(1).max(100).optional(),
    /** Newest submitted first, or most recently ended first (jobs still running last). */
    orderBy: z.enum(['created', 'ended']).default('created'),
  })
  .default({ limit: 50, orderBy: 'created' });

/** One row of `jobs.list`. */
export interface JobSummary {
  id: string;
  name: string;
  status: JobStatus;
  artifactId: string;
  fileName: string;
  parallelism: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** From start (or submission) to end (or now). */
  durationMs: number;
  failureCause: string | null;
  /** Subtasks per execution state (each subtask's newest attempt). */
  tasks: Record<ExecutionState, number>;
  /** The newest attempt of any subtask (bumped by every restart of the job or of a region). */
  attempt: number;
  /** Restarts so far, a JobManager's recovery included. */
  restarts: number;
}

/** A row of `jobs.list`: the summary and how fast the job runs. */
export interface JobListEntry extends JobSummary {
  /**
   * Records per second its sources emit, each record once (as the
   * overview's throughput counts them); null unless it runs on this JobManager.
   */
  sourceRecordsPerSec: number | null;
}

/** A page of `jobs.list`, newest first. */
export interface JobList {
  jobs: JobListEntry[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** A vertex of `jobs.get`, with its aggregated metrics. */
export interface JobVertexView {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  slotSharingGroup: string;
  operators: JobGraph['vertices'][number]['operators'];
  isSource: boolean;
  bounded: boolean;
  /**
   * False for a vertex whose source cannot read its records again after a
   * restore (a socket): the job is at-most-once for that source's records.
   */
  replayable: boolean;
  /** Subtasks per state. */
  tasks: Record<ExecutionState, number>;
  metrics: VertexMetrics;
}

/** An edge of `jobs.get` with its rate (the source vertex's out-rate). */
export interface JobEdgeView {
  id: string;
  source: string;
  target: string;
  partitioning: Partitioning;
  inputIndex: number;
  sideOutput: string | null;
  recordsPerSec: number;
}

/** One subtask attempt of `jobs.get`. */
export interface SubtaskView {
  executionId: string;
  vertexId: string;
  vertexName: string;
  subtaskIndex: number;
  attempt: number;
  state: ExecutionState;
  taskManager: { id: string; address: string } | null;
  slotIndex: number | null;
  deployedAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  failureCause: string | null;
  metrics: SubtaskMetrics | null;
}

/** One entry of a job's history. */
export interface JobEventView {
  id: number;
  at: string;
  kind: 'STATE' | 'EXCEPTION' | 'CHECKPOINT' | 'INFO';
  executionId: string | null;
  fromState: string | null;
  toState: string | null;
  message: string;
}

/** A failure of a job or subtask, with the user's stack trace. */
export interface JobExceptionView {
  at: string;
  message: string;
  stackTrace: string | null;
  vertexId: string | null;
  subtaskIndex: number | null;
  /** The attempt of the subtask that failed (null for a failure of the whole job). */
  attempt: number | null;
  taskManagerId: string | null;
}

/** `jobs.get`. */
export interface JobDetails extends JobSummary {
  runtimeMode: RuntimeMode;
  maxParallelism: number;
  arguments: string[];
  planHash: string;
  bundleSha256: string;
  /** The JobGraph as persisted (null only for rows written before it was stored). */
  jobGraph: JobGraph | null;
  vertices: JobVertexView[];
  edges: JobEdgeView[];
  /** Every subtask's newest attempt. */
  subtasks: SubtaskView[];
  /** Earlier attempts of subtasks (restarted), oldest first. */
  priorAttempts: SubtaskView[];
  /** Oldest first; at most the last {@link EVENT_LIMIT}. */
  events: JobEventView[];
  exceptions: JobExceptionView[];
  /**
   * The job's accumulators merged across subtasks by name (live while it
   * runs, final once it ended; held in memory, so empty after a JobManager restart).
   */
  accumulators: Record<string, AccumulatorResult>;
  configuration: {
    parallelism: number;
    maxParallelism: number;
    runtimeMode: RuntimeMode;
    arguments: string[];
    planOverrides: Record<string, unknown>;
    autoWatermarkIntervalMs: number | null;
    bufferTimeoutMs: number | null;
    slotsNeeded: number;
    /** The checkpointing the job runs with (its own, else the cluster's default); null: none. */
    checkpointing: CheckpointingSpec | null;
    /** Where its keyed state lives (`'heap'` for jobs planned before the setting existed). */
    stateBackend: StateBackendKind;
    /** The restart strategy it runs with; null for rows written before it was stored. */
    restartStrategy: RestartStrategySpec | null;
    /** The savepoint (or retained checkpoint) directory the job started from; null: a fresh start. */
    restoredFrom: string | null;
  };
}

/** Events returned by `jobs.get`. */
export const EVENT_LIMIT = 1000;

const zeroCounts = (): Record<ExecutionState, number> =>
  Object.fromEntries(ExecutionStateSchema.options.map((s) => [s, 0])) as Record<ExecutionState, number>;

function duration(createdAt: Date, startedAt: Date | null, endedAt: Date | null): number {
  const from = (startedAt ?? createdAt).getTime();
  return Math.max(0, (endedAt?.getTime() ?? Date.now()) - from);
}

/** The newest attempt of every subtask among `rows` (of any number of jobs). */
function newestAttempts<T extends { jobId: string; vertexId: string; subtaskIndex: number; attempt: number }>(
  rows: readonly T[],
): T[] {
  const newest = new Map<string, T>();
  for (const r of rows) {
    const key = `${r.jobId}#${r.vertexId}#${r.subtaskIndex}`;
    const seen = newest.get(key);
    if (seen === undefined || seen.attempt < r.attempt) newest.set(key, r);
  }
  return [...newest.values()];
}

/** `jobs.list`: newest first, filtered by status, paged by cursor. */
export async function listJobs(
  db: FreshetDatabase,
  input: z.output<typeof ListJobsInputSchema>,
  sourceRate: (jobId: string) => number | null = () => null,
): Promise<JobList> {
  const { prisma } = db;
  const rows = await prisma.job.findMany({
    where: input.status !== undefined ? { status: { in: input.status } } : {},
    orderBy:
      input.orderBy === 'ended'
        ? [{ endedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }, { id: 'desc' }]
        : [{ createdAt: 'desc' }, { id: 'desc' }],
    take: input.limit + 1,
    ...(input.cursor !== undefined ? { cursor: { id: input.cursor }, skip: 1 } : {}),
    include: { artifact: { select: { fileName: true } } },
  });
  const page = rows.slice(0, input.limit);
  const executions = await prisma.execution.findMany({
    where: { jobId: { in: page.map((j) => j.id) } },
    select: { jobId: true, vertexId: true, subtaskIndex: true, attempt: true, state: true },
  });
  // Only each subtask's newest attempt counts: the others were restarted.
  const tasks = new Map<string, Record<ExecutionState, number>>();
  for (const e of newestAttempts(executions)) {
    let t = tasks.get(e.jobId);
    if (t === undefined) tasks.set(e.jobId, (t = zeroCounts()));
    t[e.state]++;
  }
  return {
    jobs: page.map((j) => ({
      id: j.id,
      name: j.name,
      status: j.status,
      artifactId: j.artifactId,
      fileName: j.artifact.fileName,
      parallelism: j.parallelism,
      createdAt: j.createdAt.toISOString(),
      startedAt: j.startedAt?.toISOString() ?? null,
      endedAt: j.endedAt?.toISOString() ?? null,
      durationMs: duration(j.createdAt, j.startedAt, j.endedAt),
      failureCause: j.failureCause,
      tasks: tasks.get(j.id) ?? zeroCounts(),
      attempt: j.attempt,
      restarts: j.restarts,
      sourceRecordsPerSec: sourceRate(j.id),
    })),
    nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** `jobs.get`: everything the dashboard's job page shows. NOT_FOUND for an unknown id. */
export async function getJob(
  db: FreshetDatabase,
  registry: ClusterRegistry,
  live: MetricsStore,
  jobId: string,
): Promise<JobDetails> {
  const { prisma } = db;
  const job = await prisma.job.findUnique({
    where: { id: jobId },
    include: {
      artifact: { select: { fileName: true, bundleSha: true } },
      vertices: true,
      edges: { orderBy: { id: 'asc' } },
      executions: {
        orderBy: [{ vertexId: 'asc' }, { subtaskIndex: 'asc' }, { attempt: 'asc' }],
        include: { taskManager: { select: { host: true, dataPort: true } } },
      },
    },
  });
  if (job === null) throw notFound(jobId);
  // A job that ended left memory: its metrics come from the snapshot stored then.
  const metrics = live.has(jobId) ? live : archivedMetrics(job.metrics as MetricsSnapshot | null);
  const events = await prisma.jobEvent.findMany({
    where: { jobId },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: EVENT_LIMIT,
  });
  events.reverse();
  const exceptionRows = await prisma.jobEvent.findMany({
    where: { jobId, kind: 'EXCEPTION' },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: 100,
  });

  const parsed = JobGraphSchema.safeParse(job.jobGraph);
  const jobGraph = parsed.success ? parsed.data : null;
  const graphVertices = new Map(jobGraph?.vertices.map((v) => [v.id, v]) ?? []);
  const graphOrder = new Map(jobGraph?.vertices.map((v, i) => [v.id, i]) ?? []);
  const vertexNames = new Map(job.vertices.map((v) => [v.vertexId, v.name]));
  const executionsById = new Map(job.executions.map((e) => [e.id, e]));

  const tasks = zeroCounts();
  const vertexTasks = new Map<string, Record<ExecutionState, number>>();
  const current = new Set(newestAttempts(job.executions));
  for (const e of current) {
    tasks[e.state]++;
    let vt = vertexTasks.get(e.vertexId);
    if (vt === undefined) vertexTasks.set(e.vertexId, (vt = zeroCounts()));
    vt[e.state]++;
  }
  const view = (e: (typeof job.executions)[number]): SubtaskView => {
    const address = e.taskManager !== null ? `${e.taskManager.host}:${e.taskManager.dataPort}` : null;
    const live = e.taskManagerId !== null ? registry.address(e.taskManagerId) : undefined;
    return {
      executionId: e.id,
      vertexId: e.vertexId,
      vertexName: vertexNames.get(e.vertexId) ?? e.vertexId,
      subtaskIndex: e.subtaskIndex,
      attempt: e.attempt,
      state: e.state,
      taskManager:
        e.taskManagerId === null
          ? null
          : {
              id: e.taskManagerId,
              address: live !== undefined ? `${live.host}:${live.dataPort}` : (address ?? '?'),
            },
      slotIndex: e.slotIndex,
      deployedAt: e.deployedAt?.toISOString() ?? null,
      startedAt: e.startedAt?.toISOString() ?? null,
      endedAt: e.endedAt?.toISOString() ?? null,
      failureCause: e.failureCause,
      metrics: current.has(e) ? metrics.subtask(jobId, e.vertexId, e.subtaskIndex) : null,
    };
  };
  const subtasks = job.executions.filter((e) => current.has(e)).map(view);
  const priorAttempts = job.executions.filter((e) => !current.has(e)).map(view);

  const vertices: JobVertexView[] = [...job.vertices]
    .sort((a, b) => (graphOrder.get(a.vertexId) ?? 0) - (graphOrder.get(b.vertexId) ?? 0))
    .map((v) => {
      const g = graphVertices.get(v.vertexId);
      return {
        id: v.vertexId,
        name: v.name,
        parallelism: v.parallelism,
        maxParallelism: v.maxParallelism,
        slotSharingGroup: v.slotSharingGroup,
        operators: g?.operators ?? (v.operators as JobVertexView['operators']),
        isSource: g?.isSource ?? false,
        bounded: g?.bounded ?? false,
        replayable: g?.replayable ?? true,
        tasks: vertexTasks.get(v.vertexId) ?? zeroCounts(),
        metrics: metrics.vertex(jobId, v.vertexId),
      };
    });
  const outRate = new Map(vertices.map((v) => [v.id, v.metrics.recordsOutPerSec]));
  const graphEdges = jobGraph?.edges ?? [];
  const edges: JobEdgeView[] = job.edges.map((e, i) => {
    const g =
      graphEdges.find(
        (ge) =>
          ge.source === e.sourceVertexId &&
          ge.target === e.targetVertexId &&
          ge.inputIndex === e.inputIndex &&
          (ge.sideOutput ?? null) === e.outputTag,
      ) ?? graphEdges[i];
    return {
      id: g?.id ?? `e${e.id}`,
      source: e.sourceVertexId,
      target: e.targetVertexId,
      partitioning: e.partitioning,
      inputIndex: e.inputIndex,
      sideOutput: e.outputTag,
      recordsPerSec: outRate.get(e.sourceVertexId) ?? 0,
    };
  });

  const overrides = (job.planOverrides ?? {}) as Record<string, unknown>;
  const strategy = RestartStrategySpecSchema.safeParse(job.restartStrategy);
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    artifactId: job.artifactId,
    fileName: job.artifact.fileName,
    bundleSha256: job.artifact.bundleSha,
    parallelism: job.parallelism,
    maxParallelism: job.maxParallelism,
    runtimeMode: job.runtimeMode,
    arguments: job.arguments,
    accumulators: metrics.accumulators(jobId),
    planHash: job.planHash,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    endedAt: job.endedAt?.toISOString() ?? null,
    durationMs: duration(job.createdAt, job.startedAt, job.endedAt),
    failureCause: job.failureCause,
    tasks,
    attempt: job.attempt,
    restarts: job.restarts,
    jobGraph,
    vertices,
    edges,
    subtasks,
    priorAttempts,
    events: events.map((ev) => ({
      id: Number(ev.id),
      at: ev.at.toISOString(),
      kind: ev.kind,
      executionId: ev.executionId,
      fromState: ev.fromState,
      toState: ev.toState,
      message: ev.message,
    })),
    exceptions: exceptionRows.map((ev) => {
      const e = ev.executionId !== null ? executionsById.get(ev.executionId) : undefined;
      return {
        at: ev.at.toISOString(),
        message: ev.message,
        stackTrace: ev.stackTrace,
        vertexId: e?.vertexId ?? null,
        subtaskIndex: e?.subtaskIndex ?? null,
        attempt: e?.attempt ?? null,
        taskManagerId: e?.taskManagerId ?? null,
      };
    }),
    configuration: {
      parallelism: job.parallelism,
      maxParallelism: job.maxParallelism,
      runtimeMode: job.runtimeMode,
      arguments: job.arguments,
      planOverrides: overrides,
      autoWatermarkIntervalMs: jobGraph?.autoWatermarkIntervalMs ?? null,
      bufferTimeoutMs: jobGraph?.bufferTimeoutMs ?? null,
      slotsNeeded:
        jobGraph !== null ? slotsNeeded(jobGraph) : Math.max(1, ...job.vertices.map((v) => v.parallelism)),
      checkpointing: jobGraph?.checkpointing ?? null,
      stateBackend: jobGraph?.stateBackend ?? 'heap',
      restartStrategy: strategy.success ? strategy.data : null,
      restoredFrom: job.restoredFrom,
    },
  };
}
