/**
 * The JobManager's scheduler: submits jobs (JobGraph persisted, the
 * ExecutionGraph expanded to one Execution per vertex × subtask), allocates
 * slots over the TaskManagers, deploys, follows every subtask through
 * Flink's execution states from the TaskManagers' reports, derives the job
 * status, cancels, and fails jobs whose TaskManagers are lost. Every
 * transition is written to the database (Execution row + JobEvent) and
 * announced to subscribers.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@freshet/errors';
import { Prisma, type FreshetDatabase, type JobStatus } from '@freshet/db';
import {
  planOverridesOf,
  StoredTextSchema,
  TERMINAL_EXECUTION_STATES,
  type DeployedSlot,
  type Deployment,
  type ExecutionError,
  type ExecutionState,
  type JobGraph,
  type ReportCollectedInput,
  type ReportMetricsInput,
  type ReportStatesInput,
} from '@freshet/protocol';
import { ACTIVE_JOB_STATUSES, type ArtifactService } from '../artifacts/service.js';
import { ChangeFeed } from '../cluster/changes.js';
import type { ClusterRegistry, SchedulableTaskManager, TaskManagerLoss } from '../cluster/registry.js';
import type { Logger } from '../logger.js';
import type { CommandHub } from './commands.js';
import type { MetricsStore } from './metrics.js';
import { PlanJobInputSchema, type PlannedJob, type ProgramPlanner } from './planning.js';
import { z } from 'zod';

/** Input of `jobs.submit`. */
export const SubmitJobInputSchema = PlanJobInputSchema.extend({
  /** Display name; the program's job name by default. */
  name: StoredTextSchema.trim().min(1).max(200).optional(),
});
/** @see {@link SubmitJobInputSchema} */
export type SubmitJobInput = z.input<typeof SubmitJobInputSchema>;

/** Records of one `collect` sink as shipped by the TaskManagers. */
export interface CollectedRecords {
  collectId: string;
  /** The first records, in arrival order (at most `--collect-limit-per-job` over the job's collect ids). */
  records: unknown[];
  /** Records received in total (more than `records.length` when truncated). */
  total: number;
  truncated: boolean;
}

/** Records kept per job, over its collect ids, unless configured (`--collect-limit-per-job`). */
export const COLLECT_LIMIT = 10_000;

/** How long an ended job stays in memory for late reports before it leaves for the database. */
export const FINISHED_JOB_LINGER_MS = 10_000;

/** Cause recorded for jobs a previous JobManager left running. */
export const RESTART_CAUSE = 'JobManager restarted while the job was running';

/** One subtask attempt as the scheduler tracks it. */
export interface ExecutionRuntime {
  id: string;
  vertexId: string;
  vertexName: string;
  parallelism: number;
  subtaskIndex: number;
  state: ExecutionState;
  taskManagerId: string | null;
  /** Slot on its TaskManager. */
  slotIndex: number | null;
}

/** A job this JobManager submitted, in memory. */
export interface ActiveJob {
  id: string;
  name: string;
  status: JobStatus;
  attempt: number;
  jobGraph: JobGraph;
  bundleSha256: string;
  program: Deployment['program'];
  /** `vertexId#subtask` -> attempt. */
  executions: Map<string, ExecutionRuntime>;
  /** Global slots of the deployment (empty until scheduled). */
  slots: DeployedSlot[];
  /** Whether the "waiting for slots" event was written. */
  announcedWait: boolean;
  slotTimer?: NodeJS.Timeout;
  cancelTimer?: NodeJS.Timeout;
  readonly changes: ChangeFeed;
  collected: Map<string, CollectedRecords>;
  /** Records held in `collected`, over its collect ids. */
  collectedKept: number;
  /** Moves the ended job out of memory. */
  evictTimer?: NodeJS.Timeout;
  /** The job is failing because a subtask was cancelled unexpectedly; a subtask's own failure may still come. */
  causeIsCancel?: boolean;
}

/** A running subtask on a TaskManager, for `taskManagers.get`. */
export interface TaskManagerSubtask {
  jobId: string;
  jobName: string;
  vertexId: string;
  vertexName: string;
  subtaskIndex: number;
  attempt: number;
  state: ExecutionState;
  slotIndex: number | null;
}

/** Options of {@link JobService}. */
export interface JobServiceOptions {
  db: FreshetDatabase;
  registry: ClusterRegistry;
  artifacts: ArtifactService;
  commands: CommandHub;
  metrics: MetricsStore;
  logger: Logger;
  /** How long a job waits for free slots before it fails. */
  slotRequestTimeoutMs: number;
  /** Plans programs (plan mode in the sandbox, bounded in concurrency). */
  planner: ProgramPlanner;
  /** How long TaskManagers have to confirm a cancellation before the JobManager assumes it. @default 10000 */
  cancelTimeoutMs?: number;
  /** Collected records kept per job. @default {@link COLLECT_LIMIT} */
  collectLimitPerJob?: number;
  /** Collected records kept over every job in memory. @default 200000 */
  collectLimitTotal?: number;
  /** How long an ended job stays in memory before it leaves for the database. @default {@link FINISHED_JOB_LINGER_MS} */
  finishedJobLingerMs?: number;
}

const TERMINAL = new Set<ExecutionState>(TERMINAL_EXECUTION_STATES);
/** Position of each state in Flink's subtask lifecycle; reports never move a subtask to a lower rank. */
const LIFECYCLE_RANK: Record<ExecutionState, number> = {
  CREATED: 0,
  SCHEDULED: 1,
  DEPLOYING: 2,
  INITIALIZING: 3,
  RUNNING: 4,
  CANCELING: 5,
  FINISHED: 6,
  CANCELED: 6,
  FAILED: 6,
};
const TERMINAL_JOB = new Set<JobStatus>(['FINISHED', 'FAILED', 'CANCELED']);
const DEPLOYED = new Set<ExecutionState>(['DEPLOYING', 'INITIALIZING', 'RUNNING']);

/** One Execution transition to persist. */
interface Transition {
  execution: ExecutionRuntime;
  from: ExecutionState;
  to: ExecutionState;
  at: Date;
  error?: ExecutionError | undefined;
  /** Cause text when the JobManager decided the transition (lost TaskManager, timeout). */
  cause?: string;
}

/** `Source: numbers -> Map (2/4)`, as Flink names a subtask. */
const subtaskName = (e: ExecutionRuntime): string =>
  `${e.vertexName} (${e.subtaskIndex + 1}/${e.parallelism})`;

const errorText = (e: ExecutionError): string =>
  e.stack !== undefined && e.stack.length > 0 ? e.stack : `${e.name}: ${e.message}`;

/** Schedules and tracks jobs. */
export class JobService {
  readonly #opts: JobServiceOptions;
  readonly #jobs = new Map<string, ActiveJob>();
  /** Jobs waiting for slots, first come first served. */
  readonly #waiting: ActiveJob[] = [];
  /** TaskManager id -> its slots, each holding a job id or null. */
  readonly #slots = new Map<string, (string | null)[]>();
  /** The feed of every job not in memory (ended, or from a previous run): nothing changes there any more. */
  readonly #dormant = new ChangeFeed();
  /** Collected records held over every job in memory. */
  #collectedTotal = 0;
  #lock: Promise<unknown> = Promise.resolve();
  #ticker: NodeJS.Timeout | undefined;
  #watcher: AbortController | undefined;
  #unsubscribeLoss: (() => void) | undefined;
  #lastThroughput = 0;

  constructor(opts: JobServiceOptions) {
    this.#opts = opts;
  }

  /**
   * Marks jobs a previous JobManager left running as FAILED, then starts
   * following the cluster: TaskManager losses, new slots, metrics ticks.
   */
  async start(): Promise<void> {
    await this.#failOrphanedJobs();
    const { registry } = this.#opts;
    registry.setSlotUsage((id) => this.#slots.get(id)?.filter((s) => s !== null).length ?? 0);
    registry.setThroughput(() => this.#opts.metrics.throughput());
    this.#unsubscribeLoss = registry.onLoss((loss) => {
      this.#opts.commands.closeSession(
        loss.id,
        `TaskManager ${loss.id} was lost: ${loss.reason}; register again`,
      );
      void this.#serial(() => this.#onTaskManagerLost(loss)).catch((err: unknown) => {
        this.#opts.logger.error({ err, taskManagerId: loss.id }, 'Handling a lost TaskManager failed');
      });
    });
    // New TaskManagers (or freed slots elsewhere) may let waiting jobs start.
    const watcher = (this.#watcher = new AbortController());
    void (async () => {
      let seen = registry.changes.version;
      while (await registry.changes.next(seen, watcher.signal)) {
        seen = registry.changes.version;
        if (this.#waiting.length > 0)
          await this.#serial(() => this.#scheduleWaiting()).catch(() => undefined);
      }
    })();
    this.#ticker = setInterval(() => {
      this.#tick();
    }, 1000);
  }

  /** Stops timers and watchers (jobs stay as they are in the database). */
  async stop(): Promise<void> {
    clearInterval(this.#ticker);
    this.#watcher?.abort();
    this.#unsubscribeLoss?.();
    for (const job of this.#jobs.values()) {
      clearTimeout(job.slotTimer);
      clearTimeout(job.cancelTimer);
      clearTimeout(job.evictTimer);
    }
    await this.#lock.catch(() => undefined);
    // Ended jobs still lingering keep their collected records and metrics.
    for (const job of [...this.#jobs.values()]) {
      if (TERMINAL_JOB.has(job.status)) await this.#evict(job).catch(() => undefined);
    }
  }

  /** Records kept per job (`--collect-limit-per-job`). */
  get collectLimit(): number {
    return this.#opts.collectLimitPerJob ?? COLLECT_LIMIT;
  }

  /** `jobs.plan`: plans an artifact without submitting it. */
  async plan(input: z.output<typeof PlanJobInputSchema>): Promise<PlannedJob> {
    const artifact = await this.#opts.artifacts.require(input.artifactId);
    const bundlePath = this.#opts.artifacts.bundlePath(artifact.bundleSha)!;
    return this.#opts.planner.plan(bundlePath, artifact.fileName, input.args, planOverridesOf(input));
  }

  /** `jobs.submit`: plans, persists the JobGraph and ExecutionGraph, and schedules the job. */
  async submit(input: z.output<typeof SubmitJobInputSchema>): Promise<{ jobId: string }> {
    const { db, logger } = this.#opts;
    const artifact = await this.#opts.artifacts.require(input.artifactId);
    const bundlePath = this.#opts.artifacts.bundlePath(artifact.bundleSha)!;
    const overrides = planOverridesOf(input);
    const planned = await this.#opts.planner.plan(bundlePath, artifact.fileName, input.args, overrides);
    const { jobGraph } = planned;
    const jobId = randomUUID();
    const name = input.name ?? jobGraph.jobName;
    const job: ActiveJob = {
      id: jobId,
      name,
      status: 'CREATED',
      attempt: 0,
      jobGraph,
      bundleSha256: artifact.bundleSha,
      program: { args: input.args, ...overrides },
      executions: new Map(),
      slots: [],
      announcedWait: false,
      changes: new ChangeFeed(),
      collected: new Map(),
      collectedKept: 0,
    };
    for (const v of jobGraph.vertices) {
      for (let i = 0; i < v.parallelism; i++) {
        job.executions.set(`${v.id}#${i}`, {
          id: randomUUID(),
          vertexId: v.id,
          vertexName: v.name,
          parallelism: v.parallelism,
          subtaskIndex: i,
          state: 'CREATED',
          taskManagerId: null,
          slotIndex: null,
        });
      }
    }
    const now = new Date();
    await db.prisma.$transaction([
      db.prisma.job.create({
        data: {
          id: jobId,
          name,
          status: 'CREATED',
          parallelism: jobGraph.parallelism,
          maxParallelism: jobGraph.maxParallelism,
          runtimeMode: jobGraph.runtimeMode,
          arguments: input.args,
          planHash: planned.planHash,
          artifactId: artifact.id,
          createdAt: now,
          jobGraph: jobGraph,
          planOverrides: overrides,
        },
      }),
      db.prisma.jobVertex.createMany({
        data: jobGraph.vertices.map((v) => ({
          jobId,
          vertexId: v.id,
          name: v.name,
          parallelism: v.parallelism,
          maxParallelism: v.maxParallelism,
          operators: v.operators,
          slotSharingGroup: v.slotSharingGroup,
        })),
      }),
      db.prisma.jobEdge.createMany({
        data: jobGraph.edges.map((e) => ({
          jobId,
          sourceVertexId: e.source,
          targetVertexId: e.target,
          partitioning: e.partitioning,
          inputIndex: e.inputIndex,
          outputTag: e.sideOutput ?? null,
        })),
      }),
      db.prisma.execution.createMany({
        data: [...job.executions.values()].map((e) => ({
          id: e.id,
          jobId,
          vertexId: e.vertexId,
          subtaskIndex: e.subtaskIndex,
          attempt: 0,
          state: 'CREATED' as const,
          createdAt: now,
        })),
      }),
      db.prisma.jobEvent.create({
        data: {
          jobId,
          at: now,
          kind: 'INFO',
          message: `Job '${name}' submitted from ${artifact.fileName}: ${jobGraph.vertices.length} vertices, ${job.executions.size} subtasks, needs ${slotsNeeded(jobGraph)} slots`,
        },
      }),
    ]);
    this.#jobs.set(jobId, job);
    logger.info({ jobId, name, artifactId: artifact.id, subtasks: job.executions.size }, 'Job submitted');
    this.#opts.registry.changes.notify();
    await this.#serial(async () => {
      this.#waiting.push(job);
      await this.#scheduleWaiting();
      if (job.status === 'CREATED' && job.slots.length === 0) {
        job.slotTimer = setTimeout(() => {
          void this.#serial(() => this.#slotRequestTimedOut(job)).catch((err: unknown) => {
            logger.error({ err, jobId }, 'Failing a job that waited for slots failed');
          });
        }, this.#opts.slotRequestTimeoutMs);
      }
    });
    return { jobId };
  }

  /** `jobs.cancel`: cancels a job; CONFLICT when it already ended. */
  async cancel(jobId: string): Promise<{ jobId: string; status: JobStatus }> {
    return this.#serial(async () => {
      const job = this.#jobs.get(jobId);
      if (job === undefined) {
        const row = await this.#opts.db.prisma.job.findUnique({
          where: { id: jobId },
          select: { status: true },
        });
        if (row === null) throw notFound(jobId);
        throw new ConflictError(`Job ${jobId} is ${row.status}; only running jobs can be cancelled`);
      }
      if (TERMINAL_JOB.has(job.status)) {
        throw new ConflictError(`Job ${jobId} is ${job.status}; only running jobs can be cancelled`);
      }
      if (job.status === 'CANCELLING' || job.status === 'FAILING') return { jobId, status: job.status };
      await this.#wind(job, 'CANCELLING', 'Cancelled by the user');
      return { jobId, status: job.status };
    });
  }

  /** `executions.reportStates`: applies a TaskManager's state transitions. */
  async reportStates(input: ReportStatesInput): Promise<{ accepted: number; ignored: number }> {
    this.#opts.registry.requireSession(input.taskManagerId, input.token);
    return this.#serial(async () => {
      let accepted = 0;
      const byJob = new Map<ActiveJob, Transition[]>();
      for (const u of input.updates) {
        const job = this.#jobs.get(u.jobId);
        const execution = job?.executions.get(`${u.vertexId}#${u.subtaskIndex}`);
        if (job === undefined || execution === undefined || job.attempt !== u.attempt) continue;
        if (execution.taskManagerId !== input.taskManagerId) continue;
        const from = execution.state;
        if (TERMINAL.has(from) || from === u.state) continue;
        // A late or early report (e.g. SCHEDULED on receipt, after the JobManager
        // already marked the subtask DEPLOYING) must not move it backwards.
        if (LIFECYCLE_RANK[u.state] < LIFECYCLE_RANK[from]) continue;
        // Once asked to cancel, only the end of the subtask counts.
        if (from === 'CANCELING' && !TERMINAL.has(u.state)) continue;
        execution.state = u.state;
        let list = byJob.get(job);
        if (list === undefined) byJob.set(job, (list = []));
        list.push({ execution, from, to: u.state, at: new Date(), error: u.error });
        accepted++;
      }
      for (const [job, transitions] of byJob) {
        await this.#persist(job, transitions);
        await this.#recordRootCause(job, transitions);
        await this.#evaluate(job);
      }
      return { accepted, ignored: input.updates.length - accepted };
    });
  }

  /** `executions.reportMetrics`: takes metrics samples of this TaskManager's subtasks. */
  reportMetrics(input: ReportMetricsInput): { accepted: number } {
    this.#opts.registry.requireSession(input.taskManagerId, input.token);
    let accepted = 0;
    const touched = new Set<ActiveJob>();
    for (const sample of input.samples) {
      const job = this.#jobs.get(sample.jobId);
      const execution = job?.executions.get(`${sample.vertexId}#${sample.subtaskIndex}`);
      if (
        job === undefined ||
        execution?.taskManagerId !== input.taskManagerId ||
        job.attempt !== sample.attempt
      )
        continue;
      if (this.#opts.metrics.ingest(sample)) {
        accepted++;
        touched.add(job);
      }
    }
    for (const job of touched) job.changes.notify();
    return { accepted };
  }

  /** `executions.reportCollected`: keeps the first records of each collect sink. */
  reportCollected(input: ReportCollectedInput): { accepted: number; truncated: boolean } {
    this.#opts.registry.requireSession(input.taskManagerId, input.token);
    const job = this.#jobs.get(input.jobId);
    if (job === undefined || job.attempt !== input.attempt) return { accepted: 0, truncated: false };
    let entry = job.collected.get(input.collectId);
    if (entry === undefined) {
      entry = { collectId: input.collectId, records: [], total: 0, truncated: false };
      job.collected.set(input.collectId, entry);
    }
    const room = Math.max(
      0,
      Math.min(this.collectLimit - job.collectedKept, (this.#opts.collectLimitTotal ?? 200_000) - this.#collectedTotal),
    );
    const accepted = Math.min(room, input.values.length);
    for (let i = 0; i < accepted; i++) entry.records.push(input.values[i]);
    job.collectedKept += accepted;
    this.#collectedTotal += accepted;
    entry.total += input.values.length;
    entry.truncated = entry.total > entry.records.length;
    job.changes.notify();
    return { accepted, truncated: entry.truncated };
  }

  /** Collected records of a job in memory (an ended job's are in its row once it left: `jobs.collected`). */
  collected(jobId: string, collectId?: string): CollectedRecords[] {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return [];
    const all = [...job.collected.values()].map((c) => ({ ...c, records: [...c.records] }));
    return collectId === undefined ? all : all.filter((c) => c.collectId === collectId);
  }

  /** The in-memory job, if this JobManager submitted it. */
  active(jobId: string): ActiveJob | undefined {
    return this.#jobs.get(jobId);
  }

  /** Change feed of one job (state changes, metrics, collected records). */
  changesOf(jobId: string): ChangeFeed {
    return this.#jobs.get(jobId)?.changes ?? this.#dormant;
  }

  /** Subtasks not yet ended on a TaskManager. */
  subtasksOn(taskManagerId: string): TaskManagerSubtask[] {
    const out: TaskManagerSubtask[] = [];
    for (const job of this.#jobs.values()) {
      for (const e of job.executions.values()) {
        if (e.taskManagerId !== taskManagerId || TERMINAL.has(e.state)) continue;
        out.push({
          jobId: job.id,
          jobName: job.name,
          vertexId: e.vertexId,
          vertexName: e.vertexName,
          subtaskIndex: e.subtaskIndex,
          attempt: job.attempt,
          state: e.state,
          slotIndex: e.slotIndex,
        });
      }
    }
    return out;
  }

  // ---- scheduling -------------------------------------------------------

  /** Runs `fn` after every earlier state change: one writer at a time keeps the books consistent. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #scheduleWaiting(): Promise<void> {
    while (this.#waiting.length > 0) {
      const job = this.#waiting[0]!;
      if (job.status !== 'CREATED') {
        this.#waiting.shift();
        continue;
      }
      if (!(await this.#tryDeploy(job))) return;
      this.#waiting.shift();
    }
  }

  /** Free slots of schedulable TaskManagers, per TaskManager. */
  #freeSlots(): { tm: SchedulableTaskManager; free: number[] }[] {
    return this.#opts.registry.schedulable().map((tm) => {
      let slots = this.#slots.get(tm.id);
      if (slots === undefined || slots.length !== tm.slots) {
        const kept = slots ?? [];
        slots = Array.from({ length: tm.slots }, (_, i) => kept[i] ?? null);
        this.#slots.set(tm.id, slots);
      }
      const free: number[] = [];
      slots.forEach((owner, i) => {
        if (owner === null) free.push(i);
      });
      return { tm, free };
    });
  }

  /** Describes the cluster's slots for messages: `2 free (2 TaskManagers, 4 slots in total)`. */
  #capacity(): string {
    const pools = this.#freeSlots();
    const free = pools.reduce((n, p) => n + p.free.length, 0);
    const total = pools.reduce((n, p) => n + p.tm.slots, 0);
    return `${free} free (${pools.length} TaskManager${pools.length === 1 ? '' : 's'}, ${total} slot${total === 1 ? '' : 's'} in total)`;
  }

  async #tryDeploy(job: ActiveJob): Promise<boolean> {
    const needed = slotsNeeded(job.jobGraph);
    const pools = this.#freeSlots();
    const free = pools.reduce((n, p) => n + p.free.length, 0);
    if (free < needed) {
      if (!job.announcedWait) {
        job.announcedWait = true;
        await this.#event(
          job,
          'INFO',
          `Waiting for ${needed} task slots: the cluster has ${this.#capacity()}`,
        );
        job.changes.notify();
      }
      return false;
    }
    // Round-robin over TaskManagers: global slot i goes to the next TaskManager with a free slot.
    const assigned: { tm: SchedulableTaskManager; slot: number }[] = [];
    let cursor = 0;
    while (assigned.length < needed) {
      const pool = pools[cursor % pools.length]!;
      cursor++;
      const slot = pool.free.shift();
      if (slot !== undefined) assigned.push({ tm: pool.tm, slot });
    }
    for (const a of assigned) this.#slots.get(a.tm.id)![a.slot] = job.id;
    clearTimeout(job.slotTimer);
    job.slots = assigned.map((a) => ({ taskManagerId: a.tm.id, host: a.tm.host, dataPort: a.tm.dataPort }));

    const scheduled: Transition[] = [];
    for (const e of job.executions.values()) {
      const a = assigned[e.subtaskIndex % assigned.length]!;
      e.taskManagerId = a.tm.id;
      e.slotIndex = a.slot;
      e.state = 'SCHEDULED';
      scheduled.push({ execution: e, from: 'CREATED', to: 'SCHEDULED', at: new Date() });
    }
    await this.#persist(job, scheduled);
    const deploying: Transition[] = [];
    for (const e of job.executions.values()) {
      e.state = 'DEPLOYING';
      deploying.push({ execution: e, from: 'SCHEDULED', to: 'DEPLOYING', at: new Date() });
    }
    await this.#persist(job, deploying);

    const deployment: Deployment = {
      jobId: job.id,
      attempt: job.attempt,
      bundleSha256: job.bundleSha256,
      program: job.program,
      jobGraph: job.jobGraph,
      slots: job.slots,
    };
    const taskManagers = [...new Set(job.slots.map((s) => s.taskManagerId))];
    for (const id of taskManagers) this.#opts.commands.push(id, { type: 'deploy', deployment });
    await this.#event(
      job,
      'INFO',
      `Deploying to ${taskManagers.length} TaskManager${taskManagers.length === 1 ? '' : 's'} (${taskManagers.join(', ')}) in ${needed} slot${needed === 1 ? '' : 's'}`,
    );
    this.#opts.logger.info({ jobId: job.id, taskManagers, slots: needed }, 'Job deployed');
    this.#opts.registry.changes.notify();
    job.changes.notify();
    return true;
  }

  async #slotRequestTimedOut(job: ActiveJob): Promise<void> {
    if (job.status !== 'CREATED' || job.slots.length > 0) return;
    const cause = `Not enough task slots: the job needs ${slotsNeeded(job.jobGraph)}, the cluster has ${this.#capacity()}`;
    await this.#wind(job, 'FAILING', cause);
  }

  // ---- state ------------------------------------------------------------

  /**
   * Starts ending a job (FAILING or CANCELLING): subtasks not deployed are
   * CANCELED at once, deployed ones go CANCELING and their TaskManagers get
   * a `cancel` command; the job ends when all have ended (or after the
   * cancel timeout).
   */
  async #wind(
    job: ActiveJob,
    status: 'FAILING' | 'CANCELLING',
    cause: string,
    stackTrace?: string,
  ): Promise<void> {
    const { commands, registry } = this.#opts;
    if (status === 'FAILING') {
      await this.#opts.db.prisma.job.update({
        where: { id: job.id },
        data: { failureCause: stackTrace ?? cause },
      });
      await this.#event(job, 'EXCEPTION', cause, { stackTrace: stackTrace ?? null });
    }
    await this.#setStatus(job, status, cause);
    const transitions: Transition[] = [];
    const notify = new Set<string>();
    for (const e of job.executions.values()) {
      if (TERMINAL.has(e.state) || e.state === 'CANCELING') continue;
      const to: ExecutionState =
        DEPLOYED.has(e.state) && e.taskManagerId !== null && registry.hasSession(e.taskManagerId)
          ? 'CANCELING'
          : 'CANCELED';
      if (to === 'CANCELING') notify.add(e.taskManagerId!);
      transitions.push({ execution: e, from: e.state, to, at: new Date() });
      e.state = to;
    }
    await this.#persist(job, transitions);
    for (const id of notify) commands.push(id, { type: 'cancel', jobId: job.id, attempt: job.attempt });
    if (notify.size > 0) {
      const timeoutMs = this.#opts.cancelTimeoutMs ?? 10_000;
      job.cancelTimer = setTimeout(() => {
        void this.#serial(() => this.#cancelTimedOut(job, timeoutMs)).catch(() => undefined);
      }, timeoutMs);
    }
    await this.#evaluate(job);
  }

  async #cancelTimedOut(job: ActiveJob, timeoutMs: number): Promise<void> {
    const transitions: Transition[] = [];
    for (const e of job.executions.values()) {
      if (e.state !== 'CANCELING') continue;
      transitions.push({
        execution: e,
        from: 'CANCELING',
        to: 'CANCELED',
        at: new Date(),
        cause: `TaskManager ${e.taskManagerId ?? '?'} did not confirm the cancellation within ${timeoutMs} ms`,
      });
      e.state = 'CANCELED';
    }
    if (transitions.length === 0) return;
    await this.#persist(job, transitions);
    await this.#evaluate(job);
  }

  /** Derives the job status from its subtasks' states, and frees slots whose subtasks all ended. */
  async #evaluate(job: ActiveJob): Promise<void> {
    const executions = [...job.executions.values()];
    if (job.status === 'CREATED' || job.status === 'RUNNING') {
      // A failed subtask is the cause; the ones its TaskManagers cancelled because of it are not.
      const failed =
        executions.find((e) => e.state === 'FAILED') ?? executions.find((e) => e.state === 'CANCELED');
      if (failed !== undefined) {
        job.causeIsCancel = failed.state === 'CANCELED';
        const failure = await this.#failureOf(failed);
        await this.#wind(job, 'FAILING', failure.cause, failure.stackTrace);
        return;
      }
      if (executions.every((e) => e.state === 'FINISHED')) {
        await this.#setStatus(job, 'FINISHED', 'All subtasks finished');
      } else if (
        job.status === 'CREATED' &&
        executions.every((e) => e.state === 'RUNNING' || e.state === 'FINISHED')
      ) {
        await this.#setStatus(job, 'RUNNING', 'All subtasks are running');
      }
    } else if (
      (job.status === 'FAILING' || job.status === 'CANCELLING') &&
      executions.every((e) => TERMINAL.has(e.state))
    ) {
      await this.#setStatus(
        job,
        job.status === 'FAILING' ? 'FAILED' : 'CANCELED',
        job.status === 'FAILING' ? 'All subtasks ended after the failure' : 'All subtasks cancelled',
      );
    }
    this.#releaseEndedSlots(job);
  }

  /**
   * When a job started failing because a subtask was cancelled unexpectedly
   * (a peer TaskManager stopped its part after a failure there), the failed
   * subtask's report may come later: it becomes the job's failure cause.
   */
  async #recordRootCause(job: ActiveJob, transitions: readonly Transition[]): Promise<void> {
    if (job.status !== 'FAILING' || job.causeIsCancel !== true) return;
    const failed = transitions.find((t) => t.to === 'FAILED');
    if (failed === undefined) return;
    job.causeIsCancel = false;
    const failure = await this.#failureOf(failed.execution);
    await this.#opts.db.prisma.job.update({
      where: { id: job.id },
      data: { failureCause: failure.stackTrace ?? failure.cause },
    });
    await this.#event(job, 'EXCEPTION', failure.cause, { stackTrace: failure.stackTrace ?? null });
  }

  /** The cause to record for a failed (or unexpectedly cancelled) subtask. */
  async #failureOf(e: ExecutionRuntime): Promise<{ cause: string; stackTrace?: string }> {
    const row = await this.#opts.db.prisma.execution.findUnique({
      where: { id: e.id },
      select: { failureCause: true },
    });
    const what = e.state === 'FAILED' ? 'failed' : 'was cancelled unexpectedly';
    const detail = row?.failureCause ?? null;
    const firstLine = detail?.split('\n')[0];
    return {
      cause: `${subtaskName(e)} on TaskManager ${e.taskManagerId ?? '?'} ${what}${firstLine ? `: ${firstLine}` : ''}`,
      ...(detail !== null ? { stackTrace: detail } : {}),
    };
  }

  #releaseEndedSlots(job: ActiveJob): void {
    let freed = false;
    for (const [tmId, slots] of this.#slots) {
      if (!slots.includes(job.id)) continue;
      const open = [...job.executions.values()].some(
        (e) => e.taskManagerId === tmId && !TERMINAL.has(e.state),
      );
      if (open) continue;
      for (let i = 0; i < slots.length; i++) if (slots[i] === job.id) slots[i] = null;
      freed = true;
    }
    if (freed) {
      this.#opts.registry.changes.notify();
      if (this.#waiting.length > 0) void this.#serial(() => this.#scheduleWaiting()).catch(() => undefined);
    }
  }

  async #onTaskManagerLost(loss: TaskManagerLoss): Promise<void> {
    const cause = `TaskManager ${loss.id} (${loss.host}:${loss.dataPort}) was lost: ${loss.reason}`;
    // Its slots are gone with it.
    this.#slots.delete(loss.id);
    for (const job of this.#jobs.values()) {
      if (TERMINAL_JOB.has(job.status)) continue;
      const transitions: Transition[] = [];
      for (const e of job.executions.values()) {
        if (e.taskManagerId !== loss.id || TERMINAL.has(e.state)) continue;
        transitions.push({ execution: e, from: e.state, to: 'FAILED', at: new Date(), cause });
        e.state = 'FAILED';
      }
      if (transitions.length === 0) continue;
      this.#opts.logger.warn(
        { jobId: job.id, taskManagerId: loss.id, subtasks: transitions.length },
        'Subtasks lost with their TaskManager',
      );
      await this.#persist(job, transitions);
      if (job.status === 'CREATED' || job.status === 'RUNNING') await this.#wind(job, 'FAILING', cause);
      else await this.#evaluate(job);
    }
    this.#opts.registry.changes.notify();
  }

  async #setStatus(job: ActiveJob, status: JobStatus, why: string): Promise<void> {
    const from = job.status;
    if (from === status) return;
    job.status = status;
    const now = new Date();
    const data: Prisma.JobUpdateInput = { status };
    if (status === 'RUNNING') data.startedAt = now;
    if (TERMINAL_JOB.has(status)) {
      data.endedAt = now;
      clearTimeout(job.slotTimer);
      clearTimeout(job.cancelTimer);
      // Late reports (the last metrics, collected records) still land; then the job leaves memory.
      job.evictTimer = setTimeout(() => {
        void this.#serial(() => this.#evict(job)).catch((err: unknown) => {
          this.#opts.logger.error({ err, jobId: job.id }, 'Moving an ended job out of memory failed');
        });
      }, this.#opts.finishedJobLingerMs ?? FINISHED_JOB_LINGER_MS);
    }
    await this.#opts.db.prisma.$transaction([
      this.#opts.db.prisma.job.update({ where: { id: job.id }, data }),
      this.#opts.db.prisma.jobEvent.create({
        data: {
          jobId: job.id,
          at: now,
          kind: 'STATE',
          fromState: from,
          toState: status,
          message: `Job '${job.name}' switched from ${from} to ${status}: ${why}`,
        },
      }),
    ]);
    this.#opts.logger.info({ jobId: job.id, from, to: status }, `Job ${status}`);
    this.#opts.registry.changes.notify();
    job.changes.notify();
  }

  async #event(
    job: ActiveJob,
    kind: 'INFO' | 'EXCEPTION',
    message: string,
    extra: { stackTrace?: string | null; executionId?: string } = {},
  ): Promise<void> {
    await this.#opts.db.prisma.jobEvent.create({
      data: {
        jobId: job.id,
        kind,
        message,
        stackTrace: extra.stackTrace ?? null,
        executionId: extra.executionId ?? null,
      },
    });
  }

  /** Writes Execution transitions and their JobEvents in one transaction. */
  async #persist(job: ActiveJob, transitions: readonly Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    const { prisma } = this.#opts.db;
    const ops: Prisma.PrismaPromise<unknown>[] = [];
    for (const t of transitions) {
      const e = t.execution;
      const data: Prisma.ExecutionUncheckedUpdateInput = { state: t.to };
      if (t.to === 'SCHEDULED') {
        data.taskManagerId = e.taskManagerId;
        data.slotIndex = e.slotIndex;
      }
      if (t.to === 'DEPLOYING') data.deployedAt = t.at;
      if (t.to === 'RUNNING') data.startedAt = t.at;
      if (TERMINAL.has(t.to)) data.endedAt = t.at;
      const failure = t.error !== undefined ? errorText(t.error) : t.cause;
      if (t.to === 'FAILED' && failure !== undefined) data.failureCause = failure;
      ops.push(prisma.execution.update({ where: { id: e.id }, data }));
      const where = e.taskManagerId === null ? '' : ` on ${e.taskManagerId}`;
      ops.push(
        prisma.jobEvent.create({
          data: {
            jobId: job.id,
            at: t.at,
            kind: 'STATE',
            executionId: e.id,
            fromState: t.from,
            toState: t.to,
            message: `${subtaskName(e)}${where} switched from ${t.from} to ${t.to}${t.cause !== undefined ? `: ${t.cause}` : ''}`,
          },
        }),
      );
      if (t.to === 'FAILED' && t.error !== undefined) {
        const operator = t.error.operator !== undefined ? ` in '${t.error.operator}'` : '';
        ops.push(
          prisma.jobEvent.create({
            data: {
              jobId: job.id,
              at: t.at,
              kind: 'EXCEPTION',
              executionId: e.id,
              message: `${subtaskName(e)}${where} failed${operator}: ${t.error.name}: ${t.error.message}`,
              stackTrace: t.error.stack ?? null,
            },
          }),
        );
      }
    }
    await prisma.$transaction(ops);
    job.changes.notify();
  }

  /**
   * Moves an ended job out of memory: its collected records and metrics go
   * to its row (every read of an ended job comes from the database), then
   * its books here are dropped.
   */
  async #evict(job: ActiveJob): Promise<void> {
    if (this.#jobs.get(job.id) !== job) return;
    const { db, metrics } = this.#opts;
    await db.prisma.job.update({
      where: { id: job.id },
      data: {
        collected: [...job.collected.values()] as unknown as Prisma.InputJsonValue,
        metrics: metrics.snapshot(job.id) as unknown as Prisma.InputJsonValue,
      },
    });
    this.#jobs.delete(job.id);
    metrics.forget(job.id);
    this.#collectedTotal -= job.collectedKept;
    this.#waiting.splice(0, this.#waiting.length, ...this.#waiting.filter((w) => w !== job));
    this.#opts.logger.info({ jobId: job.id }, 'Ended job left memory; the database holds it');
  }

  /** Once a second: metrics history points and the cluster throughput (records the sources emitted). */
  #tick(): void {
    const { metrics } = this.#opts;
    let throughput = 0;
    for (const job of this.#jobs.values()) {
      if (
        job.status !== 'RUNNING' &&
        job.status !== 'CREATED' &&
        job.status !== 'FAILING' &&
        job.status !== 'CANCELLING'
      )
        continue;
      if (job.slots.length === 0) continue;
      metrics.recordSecond(
        job.id,
        job.jobGraph.vertices.map((v) => v.id),
      );
      // What a source read is what it emitted, once per record: its out-rate
      // counts a record once per outgoing exchange (twice for a fan-out), and
      // nothing for a source chained into its sink.
      for (const v of job.jobGraph.vertices)
        if (v.isSource) throughput += metrics.vertex(job.id, v.id).recordsInPerSec;
    }
    metrics.recordThroughput(throughput);
    if (throughput !== this.#lastThroughput) {
      this.#lastThroughput = throughput;
      this.#opts.registry.changes.notify();
    }
  }

  async #failOrphanedJobs(): Promise<void> {
    const { prisma } = this.#opts.db;
    const orphans = await prisma.job.findMany({
      where: { status: { in: [...ACTIVE_JOB_STATUSES] } },
      select: { id: true, name: true, status: true },
    });
    if (orphans.length === 0) return;
    const now = new Date();
    const ops: Prisma.PrismaPromise<unknown>[] = [];
    for (const job of orphans) {
      ops.push(
        prisma.job.update({
          where: { id: job.id },
          data: { status: 'FAILED', endedAt: now, failureCause: RESTART_CAUSE },
        }),
      );
      ops.push(
        prisma.execution.updateMany({
          where: { jobId: job.id, state: { notIn: [...TERMINAL_EXECUTION_STATES] } },
          data: { state: 'FAILED', endedAt: now, failureCause: RESTART_CAUSE },
        }),
      );
      ops.push(
        prisma.jobEvent.createMany({
          data: [
            { jobId: job.id, at: now, kind: 'EXCEPTION', message: RESTART_CAUSE },
            {
              jobId: job.id,
              at: now,
              kind: 'STATE',
              fromState: job.status,
              toState: 'FAILED',
              message: `Job '${job.name}' switched from ${job.status} to FAILED: ${RESTART_CAUSE}`,
            },
          ],
        }),
      );
    }
    await prisma.$transaction(ops);
    this.#opts.logger.warn(
      { jobs: orphans.map((j) => j.id) },
      `Marked ${orphans.length} job(s) FAILED: ${RESTART_CAUSE}`,
    );
  }
}

/** Slots a job needs: its largest vertex parallelism (slot sharing). */
export function slotsNeeded(jobGraph: JobGraph): number {
  return Math.max(1, ...jobGraph.vertices.map((v) => v.parallelism));
}

/** The error for an unknown job id. */
export function notFound(jobId: string): NotFoundError {
  return new NotFoundError(`No job with id ${JSON.stringify(jobId)}; list jobs with jobs.list`);
}
