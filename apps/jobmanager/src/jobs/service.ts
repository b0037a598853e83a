/**
 * The JobManager's job service: what the API's procedures reach. It plans
 * and submits jobs (the JobGraph persisted through the {@link JobStore}, an
 * {@link ExecutionGraph}, restart strategy and checkpoint coordinator per
 * job), hands them to the {@link Scheduler}, recovers the jobs a previous
 * JobManager left unfinished, and takes what TaskManagers report: states,
 * metrics, collected records, checkpoint uploads, lost peers — each fenced
 * by the attempt it names.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '@freshet/errors';
import type { FreshetDatabase } from '@freshet/db';
import { effectiveRestartStrategy } from '@freshet/graph';
import {
  fromWireWatermark,
  planOverridesOf,
  StoredTextSchema,
  toWireWatermark,
  type CheckpointingSpec,
  type DeclineCheckpointInput,
  type ExecutionState,
  type HeartbeatInput,
  type JobGraph,
  type ReportCollectedInput,
  type ReportLostPeerInput,
  type ReportMetricsInput,
  type ReportStatesInput,
  type ReportWatermarksInput,
  type ReportWatermarksOutput,
  type RestartStrategySpec,
} from '@freshet/protocol';
import {
  assertSavepointTargetFree,
  assignRestoredState,
  DirectoryCheckpointStorage,
  openRestorePoint,
  resolveInside,
  SYSTEM_CLOCK,
  WatermarkAlignmentCoordinator,
  type CheckpointStorage,
  type CoordinatorClock,
} from '@freshet/runtime';
import type { ArtifactService } from '../artifacts/service.js';
import { ChangeFeed } from '../cluster/changes.js';
import type { ClusterRegistry } from '../cluster/registry.js';
import type { Logger } from '../logger.js';
import type { InitialRestore, SavepointResult, UploadStats } from './checkpoints.js';
import type { CommandHub } from './commands.js';
import { slotsNeeded, subtaskName, TERMINAL, TERMINAL_JOB } from './execution-graph.js';
import type { ArchivedJob, JobStore, StoredJob } from './job-store.js';
import type { MetricsStore } from './metrics.js';
import { PlanJobInputSchema, type PlannedJob, type ProgramPlanner } from './planning.js';
import { CollectBudget } from './collect-budget.js';
import { prismaJobStore } from './prisma-job-store.js';
import { runsCollector, sharesAttempt } from './report-fencing.js';
import {
  COLLECT_LIMIT,
  notFound,
  RESTART_CAUSE,
  Scheduler,
  type ActiveJob,
  type CollectedRecords,
} from './scheduler.js';
import { SlotPool } from './slot-pool.js';

export { COLLECT_LIMIT, notFound, RESTART_CAUSE, slotsNeeded, type CollectedRecords };

/** How long an ended job stays in memory for late reports before it leaves for the database. */
export const FINISHED_JOB_LINGER_MS = 10_000;

/** A savepoint or checkpoint path as the API takes it. */
const RestorePathSchema = StoredTextSchema.min(1).max(1000);

/** Input of `jobs.submit`. */
export const SubmitJobInputSchema = PlanJobInputSchema.extend({
  /** Display name; the program's job name by default. */
  name: StoredTextSchema.trim().min(1).max(200).optional(),
  /**
   * Start from this savepoint or retained checkpoint (a directory, or its
   * `_metadata`), inside the JobManager's savepoint or checkpoint directory;
   * relative paths are taken from the savepoint directory.
   */
  savepointPath: RestorePathSchema.optional(),
  /** Drop state of operators the new job no longer has instead of refusing the submission. */
  allowNonRestoredState: z.boolean().default(false),
});

/** Input of `jobs.savepoint`. */
export const SavepointInputSchema = z.object({
  jobId: StoredTextSchema.min(1).max(100),
  /** Directory for the savepoint, inside the JobManager's savepoint directory (relative paths from there). */
  dir: RestorePathSchema.optional(),
});

/** Input of `jobs.stop`. */
export const StopJobInputSchema = SavepointInputSchema.extend({
  /** Emit the MAX watermark first: every event-time window and timer fires, then the job finishes. */
  drain: z.boolean().default(false),
});

/** Input of `jobs.rescale`. */
export const RescaleJobInputSchema = z.object({
  jobId: StoredTextSchema.min(1).max(100),
  /** The new default parallelism (vertices whose parallelism the program set keep theirs). */
  parallelism: z.int().min(1).max(4096),
});

/** How long a savepoint may take to be triggered and written. */
const SAVEPOINT_TIMEOUT_MS = 120_000;
/** @see {@link SubmitJobInputSchema} */
export type SubmitJobInput = z.input<typeof SubmitJobInputSchema>;

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

/** Settings of the cluster that jobs fall back to. */
export interface ClusterJobDefaults {
  /** Checkpointing of jobs that do not configure their own; undefined = none. */
  checkpointing?: CheckpointingSpec;
  /** Restart strategy of jobs that do not set their own; undefined = Flink's default (exponential-delay with checkpointing, else none). */
  restartStrategy?: RestartStrategySpec;
}

/** Options of {@link JobService}. */
export interface JobServiceOptions {
  db: FreshetDatabase;
  registry: ClusterRegistry;
  artifacts: ArtifactService;
  commands: CommandHub;
  metrics: MetricsStore;
  logger: Logger;
  /** The JobManager's data directory: checkpoints live in `<dataDir>/checkpoints/<job>/chk-<n>/`. */
  dataDir: string;
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
  /** Bytes (as JSON) of the collected records kept over every job in memory. @default 64 MiB */
  collectLimitBytes?: number;
  /** How long an ended job stays in memory before it leaves for the database. @default {@link FINISHED_JOB_LINGER_MS} */
  finishedJobLingerMs?: number;
  defaults?: ClusterJobDefaults;
  /** @default prismaJobStore(db) */
  store?: JobStore;
  /** @default a DirectoryCheckpointStorage under `<dataDir>/checkpoints` */
  storage?: CheckpointStorage;
  /** Where savepoints are written and read from (besides retained checkpoints). @default `<dataDir>/savepoints` */
  savepointDir?: string;
  /** @default SYSTEM_CLOCK */
  clock?: CoordinatorClock;
}

/** Plans, schedules, recovers and follows jobs. */
export class JobService {
  readonly #o: JobServiceOptions;
  readonly #store: JobStore;
  readonly #storage: CheckpointStorage;
  readonly #clock: CoordinatorClock;
  readonly #pool = new SlotPool();
  readonly #scheduler: Scheduler;
  /** The feed of every job not in memory (ended, or from a previous run): nothing changes there any more. */
  readonly #dormant = new ChangeFeed();
  /** Watermark alignment of the jobs in memory whose sources report watermarks (`withWatermarkAlignment`). */
  readonly #alignment = new Map<string, WatermarkAlignmentCoordinator>();
  /** Collected records held over every job in memory. */
  #collectedTotal = 0;
  readonly #collectedBytes: CollectBudget;
  #ticker: NodeJS.Timeout | undefined;
  #watcher: AbortController | undefined;
  #unsubscribeLoss: (() => void) | undefined;
  #unsubscribeRegistration: (() => void) | undefined;
  #lastThroughput = 0;

  constructor(options: JobServiceOptions) {
    this.#o = options;
    this.#store = options.store ?? prismaJobStore(options.db);
    this.#storage = options.storage ?? new DirectoryCheckpointStorage(join(options.dataDir, 'checkpoints'));
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#collectedBytes = new CollectBudget(options.collectLimitBytes);
    this.#scheduler = new Scheduler({
      store: this.#store,
      registry: options.registry,
      pool: this.#pool,
      gateway: {
        send: (taskManagerId, command) => {
          if (options.registry.hasSession(taskManagerId)) options.commands.push(taskManagerId, command);
        },
      },
      logger: options.logger,
      clock: this.#clock,
      storage: this.#storage,
      newId: randomUUID,
      slotRequestTimeoutMs: options.slotRequestTimeoutMs,
      cancelTimeoutMs: options.cancelTimeoutMs ?? 10_000,
      archiveOf: (job) => this.#archiveOf(job),
      onEnded: (job) => {
        // Late reports (the last metrics, collected records) still land; then the job leaves memory.
        job.evictTimer = this.#clock.setTimeout(() => {
          void this.#scheduler
            .serial(() => this.#evict(job))
            .catch((err: unknown) => {
              options.logger.error({ err, jobId: job.id }, 'Moving an ended job out of memory failed');
            });
        }, options.finishedJobLingerMs ?? FINISHED_JOB_LINGER_MS);
      },
    });
  }

  /** The checkpoint storage (the checkpoint endpoints read and write through the jobs, this is for tests). */
  get storage(): CheckpointStorage {
    return this.#storage;
  }

  /**
   * Recovers the jobs a previous JobManager left unfinished, then starts
   * following the cluster: TaskManager losses, new slots, metrics ticks.
   */
  async start(): Promise<void> {
    const { registry, commands, logger, metrics } = this.#o;
    registry.setSlotUsage((id) => this.#pool.used(id));
    registry.setThroughput(() => metrics.throughput());
    this.#unsubscribeLoss = registry.onLoss((loss) => {
      commands.closeSession(loss.id, `TaskManager ${loss.id} was lost: ${loss.reason}; register again`);
      this.#scheduler.onTaskManagerLost(loss).catch((err: unknown) => {
        logger.error({ err, taskManagerId: loss.id }, 'Handling a lost TaskManager failed');
      });
    });
    this.#unsubscribeRegistration = registry.onRegistration((tm, input) => {
      this.#scheduler.registered(tm, input.running ?? []);
    });
    await this.#recover();
    // New TaskManagers (or freed slots elsewhere) may let waiting jobs start.
    const watcher = (this.#watcher = new AbortController());
    void (async () => {
      let seen = registry.changes.version;
      while (await registry.changes.next(seen, watcher.signal)) {
        seen = registry.changes.version;
        await this.#scheduler.serial(() => this.#scheduler.scheduleWaiting()).catch(() => undefined);
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
    this.#unsubscribeRegistration?.();
    await this.#scheduler.stop();
    // Ended jobs still lingering keep their collected records and metrics.
    for (const job of [...this.#scheduler.jobs()]) {
      if (TERMINAL_JOB.has(job.graph.status)) await this.#evict(job).catch(() => undefined);
    }
  }

  /** Records kept per job (`--collect-limit-per-job`). */
  get collectLimit(): number {
    return this.#o.collectLimitPerJob ?? COLLECT_LIMIT;
  }

  /**
   * Moves an ended job out of memory: its collected records and metrics go
   * to its row (every read of an ended job comes from the database), then
   * its books here are dropped.
   */
  async #evict(job: ActiveJob): Promise<void> {
    if (this.#scheduler.job(job.id) !== job) return;
    // Written with the terminal status already; again now, with the reports that came late.
    await this.#store.archive(job.id, this.#archiveOf(job));
    this.#scheduler.forget(job);
    this.#o.metrics.forget(job.id);
    this.#alignment.delete(job.id);
    this.#collectedTotal -= job.collectedKept;
    this.#collectedBytes.release(job);
    this.#o.logger.info({ jobId: job.id }, 'Ended job left memory; the database holds it');
  }

  /** An ended job's results as its row keeps them: collected records, metrics and accumulators. */
  #archiveOf(job: ActiveJob): ArchivedJob {
    return { collected: [...job.collected.values()], metrics: this.#o.metrics.snapshot(job.id) };
  }

  /** `jobs.plan`: plans an artifact without submitting it. */
  async plan(input: z.output<typeof PlanJobInputSchema>): Promise<PlannedJob> {
    const artifact = await this.#o.artifacts.require(input.artifactId);
    const bundlePath = this.#o.artifacts.bundlePath(artifact.bundleSha)!;
    return this.#o.planner.plan(bundlePath, artifact.fileName, input.args, planOverridesOf(input));
  }

  /** The directory savepoints go to (and restore paths are taken from). */
  get savepointDir(): string {
    return this.#o.savepointDir ?? join(this.#o.dataDir, 'savepoints');
  }

  /** The directories a job may be started from: savepoints and retained checkpoints. */
  #restoreRoots(): string[] {
    const roots = [this.savepointDir];
    if (this.#storage instanceof DirectoryCheckpointStorage) roots.push(this.#storage.root);
    return roots;
  }

  /** Opens a savepoint (or retained checkpoint) and maps its state onto `jobGraph`. */
  async #initialRestore(
    path: string,
    jobGraph: JobGraph,
    allowNonRestoredState: boolean,
  ): Promise<InitialRestore> {
    const point = await openRestorePoint(path, this.#restoreRoots());
    const assignment = assignRestoredState(point.metadata, jobGraph, { allowNonRestoredState });
    return { point, assignment };
  }

  /** `jobs.submit`: plans, persists the JobGraph and ExecutionGraph, and schedules the job. */
  async submit(
    input: z.output<typeof SubmitJobInputSchema>,
  ): Promise<{ jobId: string; restoredFrom?: string; warnings: string[] }> {
    const { logger } = this.#o;
    const artifact = await this.#o.artifacts.require(input.artifactId);
    const bundlePath = this.#o.artifacts.bundlePath(artifact.bundleSha)!;
    const overrides = planOverridesOf(input);
    const planned = await this.#o.planner.plan(bundlePath, artifact.fileName, input.args, overrides);
    const jobGraph = this.#withDefaults(planned.jobGraph);
    const initial =
      input.savepointPath === undefined
        ? undefined
        : await this.#initialRestore(input.savepointPath, jobGraph, input.allowNonRestoredState);
    const warnings = initial?.assignment.warnings ?? [];
    const jobId = randomUUID();
    const name = input.name ?? jobGraph.jobName;
    const stored: StoredJob = {
      id: jobId,
      name,
      artifactId: artifact.id,
      bundleSha256: artifact.bundleSha,
      runtimeMode: jobGraph.runtimeMode,
      planHash: planned.planHash,
      jobGraph,
      program: { args: input.args, ...overrides },
      restartStrategy: jobGraph.restartStrategy!,
      ...(initial === undefined ? {} : { restoredFrom: initial.point.path }),
      status: 'CREATED',
      attempt: 0,
      restarts: 0,
      executions: [],
    };
    // Checkpoint ids continue after the savepoint's (Flink's way): its state is served under its id.
    const job = this.#scheduler.activate(stored, (initial?.assignment.checkpointId ?? 0) + 1, [], initial);
    const subtasks = job.graph.vertices().length;
    const from =
      initial === undefined
        ? ''
        : `; restores the ${initial.point.kind} ${initial.point.path} (checkpoint ${initial.assignment.checkpointId} of job ${initial.point.metadata.jobId})${initial.assignment.dropped.length > 0 ? `, dropping the state of ${initial.assignment.dropped.join(', ')}` : ''}`;
    await this.#store.createJob({
      ...stored,
      createdAt: new Date(this.#clock.now()),
      executions: job.graph.vertices().map((v) => v.current),
      message: `Job '${name}' submitted from ${artifact.fileName}: ${jobGraph.vertices.length} vertices, ${subtasks} subtasks, needs ${slotsNeeded(jobGraph)} slots${from}`,
    });
    const at = new Date(this.#clock.now());
    for (const warning of warnings)
      await this.#store.recordEvent(jobId, { kind: 'INFO', message: `Warning: ${warning}` }, at);
    logger.info(
      { jobId, name, artifactId: artifact.id, subtasks, restoredFrom: stored.restoredFrom },
      'Job submitted',
    );
    this.#o.registry.changes.notify();
    await this.#scheduler.submit(job);
    return { jobId, ...(initial === undefined ? {} : { restoredFrom: initial.point.path }), warnings };
  }

  /** A running job by id: NOT_FOUND for an unknown one, CONFLICT for one that ended. */
  async #requireRunning(jobId: string): Promise<ActiveJob> {
    const job = this.#scheduler.job(jobId);
    const status = job?.graph.status ?? (await this.#store.jobStatus(jobId));
    if (status === null) throw notFound(jobId);
    if (
      job === undefined ||
      TERMINAL_JOB.has(job.graph.status) ||
      job.graph.status === 'CANCELLING' ||
      job.graph.status === 'FAILING'
    )
      throw new ConflictError(`Job ${jobId} is ${status}; only a running job can take a savepoint`);
    return job;
  }

  /**
   * Resolves a savepoint directory inside the savepoint directory (a default
   * name when none is given); refuses one that already holds a savepoint.
   */
  async #savepointTarget(jobId: string, dir: string | undefined): Promise<string> {
    const name =
      dir ??
      `savepoint-${jobId.slice(0, 8)}-${new Date(this.#clock.now()).toISOString().replace(/[:.]/g, '-')}`;
    const target = resolveInside(this.savepointDir, name, 'The savepoint directory');
    await assertSavepointTargetFree(target);
    return target;
  }

  /** `jobs.savepoint`: writes a savepoint of a running job; the job goes on. */
  async savepoint(
    input: z.output<typeof SavepointInputSchema>,
  ): Promise<SavepointResult & { jobId: string }> {
    // The directory first: a bad one is refused whatever the job's state.
    const dir = await this.#savepointTarget(input.jobId, input.dir);
    const job = await this.#requireRunning(input.jobId);
    const result = await job.checkpoints.savepoint(dir, 'savepoint', SAVEPOINT_TIMEOUT_MS);
    this.#o.logger.info({ jobId: job.id, ...result }, 'Savepoint written');
    return { jobId: job.id, ...result };
  }

  /**
   * `jobs.stop`: stop with a savepoint. The sources stop after its barrier
   * (or, with `drain`, end their input: the MAX watermark fires every
   * window and timer); once the savepoint is complete the sinks commit it
   * and the job ends FINISHED. `kind` is what the savepoint's checkpoint
   * records (`RESCALE` when {@link rescale} stops it).
   */
  async stopJob(
    input: z.output<typeof StopJobInputSchema>,
    kind: 'STOP' | 'RESCALE' = 'STOP',
  ): Promise<SavepointResult & { jobId: string; status: string }> {
    // The directory first: a bad one is refused whatever the job's state.
    const dir = await this.#savepointTarget(input.jobId, input.dir);
    const job = await this.#requireRunning(input.jobId);
    let result: SavepointResult;
    if (input.drain) {
      result = await job.checkpoints.drain(dir);
    } else {
      result = await job.checkpoints.savepoint(dir, 'stop', SAVEPOINT_TIMEOUT_MS, kind);
      // Let the completion's commit notices go out before the cancellations.
      await new Promise((r) => setImmediate(r));
      await this.#scheduler.endStopped(job, result.path);
    }
    await this.#ended(job, 30_000);
    this.#o.logger.info({ jobId: job.id, ...result, drain: input.drain }, 'Job stopped with a savepoint');
    return { jobId: job.id, status: job.graph.status, ...result };
  }

  /**
   * `jobs.rescale`: stop with a savepoint, then submit the same program
   * from it at the new parallelism (keyed state moves by key group). The
   * rescaled job is a new job; its id is returned.
   */
  async rescale(
    input: z.output<typeof RescaleJobInputSchema>,
  ): Promise<{ jobId: string; previousJobId: string; savepoint: string; warnings: string[] }> {
    const job = await this.#requireRunning(input.jobId);
    const { args, ...overrides } = job.program;
    const stopped = await this.stopJob({ jobId: job.id, drain: false }, 'RESCALE');
    const resubmit = this.submit({
      ...overrides,
      artifactId: job.artifactId,
      args,
      parallelism: input.parallelism,
      // Key groups stay: keyed state can move only between equal numbers of them.
      maxParallelism: overrides.maxParallelism ?? job.graph.jobGraph.maxParallelism,
      name: job.name,
      savepointPath: stopped.path,
      allowNonRestoredState: false,
    });
    let submitted: Awaited<typeof resubmit>;
    try {
      submitted = await resubmit;
    } catch (error) {
      // The job is stopped: say where its state is, so it can be submitted from there by hand.
      if (error instanceof Error)
        error.message = `Job ${job.id} was stopped with a savepoint in ${stopped.path}, but the rescaled job could not be submitted: ${error.message}`;
      throw error;
    }
    return {
      jobId: submitted.jobId,
      previousJobId: job.id,
      savepoint: stopped.path,
      warnings: submitted.warnings,
    };
  }

  /** Waits (bounded) until a job reached a terminal status. */
  async #ended(job: ActiveJob, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!TERMINAL_JOB.has(job.graph.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `jobs.cancel`: cancels a job; CONFLICT when it already ended. */
  cancel(jobId: string): Promise<{ jobId: string; status: ActiveJob['graph']['status'] }> {
    return this.#scheduler.cancel(jobId);
  }

  // ------------------------------------------------------------ TaskManagers

  /** A heartbeat: commands it handled need not be re-sent; its running deployments are reconciled. */
  heartbeat(input: HeartbeatInput): void {
    if (!this.#o.registry.hasSession(input.taskManagerId)) return;
    if (input.lastCommandId !== undefined)
      this.#o.commands.acknowledge(input.taskManagerId, input.lastCommandId);
    this.#reconcile(input.taskManagerId, input.running ?? []);
  }

  #reconcile(taskManagerId: string, running: NonNullable<HeartbeatInput['running']>): void {
    // In the scheduler's order: after a loss the same registration caused (its executions failed first).
    void this.#scheduler
      .serial(async () => {
        const tm = this.#o.registry.schedulable().find((t) => t.id === taskManagerId);
        if (tm !== undefined) this.#scheduler.reconcile(tm, running);
        return Promise.resolve();
      })
      .catch((err: unknown) => {
        this.#o.logger.error({ err, taskManagerId }, 'Reconciling a TaskManager failed');
      });
  }

  /** `executions.reportLostPeer`: a peer's data connection broke; the peer is declared lost at once. */
  reportLostPeer(input: ReportLostPeerInput): { declaredLost: boolean } {
    const { registry, logger } = this.#o;
    registry.requireSession(input.taskManagerId, input.token);
    const job = this.#scheduler.job(input.jobId);
    // Only a report from a current attempt that runs next to the peer counts (a stale one proves nothing).
    const current =
      job !== undefined &&
      !TERMINAL_JOB.has(job.graph.status) &&
      sharesAttempt(job.graph, input.attempt, input.taskManagerId, input.peerId);
    if (!current) return { declaredLost: false };
    logger.warn(
      {
        taskManagerId: input.peerId,
        reportedBy: input.taskManagerId,
        jobId: input.jobId,
        reason: input.reason,
      },
      'A peer reports the data connection to a TaskManager broken',
    );
    return {
      declaredLost: registry.declareLost(
        input.peerId,
        `its data connection from TaskManager ${input.taskManagerId} broke (${input.reason})`,
      ),
    };
  }

  // ------------------------------------------------------------ reports

  /** `executions.reportStates`: applies a TaskManager's state transitions. */
  async reportStates(input: ReportStatesInput): Promise<{ accepted: number; ignored: number }> {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    const accepted = await this.#scheduler.reportStates(input.taskManagerId, input.updates);
    return { accepted, ignored: input.updates.length - accepted };
  }

  /** `executions.reportMetrics`: takes metrics samples of this TaskManager's current subtasks. */
  reportMetrics(input: ReportMetricsInput): { accepted: number } {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    let accepted = 0;
    const touched = new Set<ActiveJob>();
    for (const sample of input.samples) {
      const job = this.#scheduler.job(sample.jobId);
      if (
        job?.graph.isCurrent(sample.vertexId, sample.subtaskIndex, sample.attempt, input.taskManagerId) !==
        true
      )
        continue;
      if (this.#o.metrics.ingest(sample)) {
        accepted++;
        touched.add(job);
      }
    }
    for (const job of touched) job.changes.notify();
    return { accepted };
  }

  /**
   * Whether collected records come from the TaskManager that runs their
   * collect sink in the job's current attempt (a stale attempt's records, or
   * another TaskManager's, are not the job's output). The caller checked the
   * session.
   */
  collectsFrom(input: { jobId: string; collectId: string; attempt: number; taskManagerId: string }): boolean {
    const job = this.#scheduler.job(input.jobId);
    return job !== undefined && runsCollector(job.graph, input.collectId, input.attempt, input.taskManagerId);
  }

  /** `executions.reportCollected`: keeps the first records of each collect sink. */
  reportCollected(input: ReportCollectedInput): { accepted: number; truncated: boolean } {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    const job = this.#scheduler.job(input.jobId);
    if (job === undefined || !this.collectsFrom(input)) return { accepted: 0, truncated: false };
    let entry = job.collected.get(input.collectId);
    if (entry === undefined) {
      entry = { collectId: input.collectId, records: [], total: 0, truncated: false };
      job.collected.set(input.collectId, entry);
    }
    const room = Math.max(
      0,
      Math.min(
        this.collectLimit - job.collectedKept,
        (this.#o.collectLimitTotal ?? 200_000) - this.#collectedTotal,
      ),
    );
    const accepted = this.#collectedBytes.take(job, input.values, Math.min(room, input.values.length));
    for (let i = 0; i < accepted; i++) entry.records.push(input.values[i]);
    job.collectedKept += accepted;
    this.#collectedTotal += accepted;
    entry.total += input.values.length;
    entry.truncated = entry.total > entry.records.length;
    job.changes.notify();
    return { accepted, truncated: entry.truncated };
  }

  /**
   * `executions.reportWatermarks`: the watermarks of a TaskManager's aligned
   * sources go into the job's alignment coordinator; the answer is the
   * largest watermark each of their groups may reach (over every
   * TaskManager's sources of the job).
   */
  reportWatermarks(input: ReportWatermarksInput): ReportWatermarksOutput {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    const job = this.#scheduler.job(input.jobId);
    if (job === undefined) return { announcements: [] };
    // Only the sources this TaskManager runs in their current attempt count.
    const reports = input.reports.filter((r) =>
      job.graph.isCurrent(r.vertexId, r.subtask, input.attempt, input.taskManagerId),
    );
    if (reports.length === 0) return { announcements: [] };
    let coordinator = this.#alignment.get(job.id);
    if (coordinator === undefined)
      this.#alignment.set(job.id, (coordinator = new WatermarkAlignmentCoordinator()));
    const announcements = coordinator.report(
      reports.map((r) => ({ ...r, watermark: fromWireWatermark(r.watermark) })),
    );
    return {
      announcements: announcements.map((a) => ({
        group: a.group,
        maxAllowedWatermark: toWireWatermark(a.maxAllowedWatermark),
      })),
    };
  }

  /** `executions.declineCheckpoint`: a subtask could not take a checkpoint; it is aborted. */
  declineCheckpoint(input: DeclineCheckpointInput): { accepted: boolean } {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    const job = this.#scheduler.job(input.jobId);
    if (job?.graph.isCurrent(input.vertexId, input.subtask, input.attempt, input.taskManagerId) !== true)
      return { accepted: false };
    const pending = job.checkpoints.coordinator.pendingCheckpoint;
    job.checkpoints.coordinator.decline(
      input.checkpointId,
      input.vertexId,
      input.subtask,
      input.attempt,
      input.reason,
    );
    return { accepted: pending?.checkpointId === input.checkpointId };
  }

  /**
   * `PUT /checkpoints/…`: stores a subtask's snapshot or final state and
   * acknowledges it. The caller authenticated the TaskManager.
   */
  async uploadCheckpointState(
    taskManagerId: string,
    path: {
      jobId: string;
      attempt: number;
      checkpointId: number | 'final';
      vertexId: string;
      subtask: number;
    },
    bytes: Uint8Array,
    stats: UploadStats,
  ): Promise<void> {
    const job = this.#requireJob(path.jobId);
    await job.checkpoints.upload(
      taskManagerId,
      path.attempt,
      path.checkpointId,
      path.vertexId,
      path.subtask,
      bytes,
      stats,
    );
  }

  /** `GET /checkpoints/…`: the state a subtask restores from. The caller authenticated the TaskManager. */
  async readCheckpointState(
    taskManagerId: string,
    path: {
      jobId: string;
      attempt: number;
      checkpointId: number;
      vertexId: string;
      subtask: number;
      part?: number | undefined;
    },
  ): Promise<Uint8Array> {
    const job = this.#requireJob(path.jobId);
    return job.checkpoints.readState(
      taskManagerId,
      path.attempt,
      path.checkpointId,
      path.vertexId,
      path.subtask,
      path.part,
    );
  }

  #requireJob(jobId: string): ActiveJob {
    const job = this.#scheduler.job(jobId);
    if (job === undefined || TERMINAL_JOB.has(job.graph.status))
      throw new NotFoundError(`Job ${jobId} is not running on this JobManager`);
    return job;
  }

  // ------------------------------------------------------------ queries

  /** Collected records of a job in memory (an ended job's are in its row once it left: `jobs.collected`). */
  collected(jobId: string, collectId?: string): CollectedRecords[] {
    const job = this.#scheduler.job(jobId);
    if (job === undefined) return [];
    const all = [...job.collected.values()].map((c) => ({ ...c, records: [...c.records] }));
    return collectId === undefined ? all : all.filter((c) => c.collectId === collectId);
  }

  /**
   * Records per second a running job's sources emit, each record once
   * (null when the job does not run here): what the overview counts.
   */
  sourceRate(jobId: string): number | null {
    const job = this.#scheduler.job(jobId);
    if (job === undefined || TERMINAL_JOB.has(job.graph.status) || job.graph.slots.length === 0) return null;
    // What a source read is what it emitted, once per record: its out-rate
    // counts a record once per outgoing exchange (twice for a fan-out), and
    // nothing for a source chained into its sink.
    let rate = 0;
    for (const v of job.graph.jobGraph.vertices)
      if (v.isSource) rate += this.#o.metrics.vertex(job.id, v.id).recordsInPerSec;
    return rate;
  }

  /** The in-memory job, if this JobManager runs (or ran) it. */
  active(jobId: string): ActiveJob | undefined {
    return this.#scheduler.job(jobId);
  }

  /** Change feed of one job (state changes, metrics, collected records, checkpoints). */
  changesOf(jobId: string): ChangeFeed {
    return this.#scheduler.job(jobId)?.changes ?? this.#dormant;
  }

  /** Subtasks not yet ended on a TaskManager. */
  subtasksOn(taskManagerId: string): TaskManagerSubtask[] {
    const out: TaskManagerSubtask[] = [];
    for (const job of this.#scheduler.jobs()) {
      for (const v of job.graph.vertices()) {
        const e = v.current;
        if (e.taskManagerId !== taskManagerId || TERMINAL.has(e.state)) continue;
        out.push({
          jobId: job.id,
          jobName: job.name,
          vertexId: v.vertexId,
          vertexName: v.vertexName,
          subtaskIndex: v.subtask,
          attempt: e.attempt,
          state: e.state,
          slotIndex: e.slotIndex,
        });
      }
    }
    return out;
  }

  /** Slots of a TaskManager held by stale tasks (tests and diagnostics). */
  orphanSlots(taskManagerId: string): number[] {
    return this.#pool.orphans(taskManagerId);
  }

  // ------------------------------------------------------------ internals

  /** The JobGraph with the effective checkpointing and restart strategy (the cluster's defaults where the job has none). */
  #withDefaults(jobGraph: JobGraph): JobGraph {
    const defaults = this.#o.defaults ?? {};
    const checkpointing = jobGraph.checkpointing ?? defaults.checkpointing;
    const restartStrategy = effectiveRestartStrategy(
      jobGraph.restartStrategy,
      checkpointing !== undefined,
      defaults.restartStrategy,
    );
    return { ...jobGraph, ...(checkpointing === undefined ? {} : { checkpointing }), restartStrategy };
  }

  async #recover(): Promise<void> {
    const { logger } = this.#o;
    const stored = await this.#store.unfinishedJobs();
    for (const s of stored) {
      const at = new Date(this.#clock.now());
      await this.#store.abandonCheckpoints(s.id, RESTART_CAUSE, at);
      const retained = Math.max(1, s.jobGraph.checkpointing?.maxRetainedCheckpoints ?? 3);
      const completed = await this.#store.retainedCheckpoints(s.id, retained);
      // A job started from a savepoint that completed no checkpoint of its own restores the savepoint again.
      let initial: InitialRestore | undefined;
      if (completed.length === 0 && s.restoredFrom !== undefined) {
        initial = await this.#initialRestore(s.restoredFrom, s.jobGraph, true).catch((err: unknown) => {
          logger.error(
            { err, jobId: s.id, restoredFrom: s.restoredFrom },
            'The savepoint of a recovered job cannot be read',
          );
          return undefined;
        });
      }
      const next = Math.max(
        await this.#store.nextCheckpointId(s.id),
        (initial?.assignment.checkpointId ?? 0) + 1,
      );
      const job = this.#scheduler.activate(s, next, completed, initial);
      await this.#scheduler.recover(job);
      logger.warn(
        { jobId: s.id, status: job.graph.status, checkpoint: completed.at(-1)?.checkpointId ?? null },
        `Recovered job ${s.id} left ${s.status} by a previous JobManager`,
      );
    }
  }

  /** Once a second: metrics history points and the cluster throughput (records the sources emitted). */
  #tick(): void {
    const { metrics } = this.#o;
    let throughput = 0;
    for (const job of this.#scheduler.jobs()) {
      const status = job.graph.status;
      if (TERMINAL_JOB.has(status) || job.graph.slots.length === 0) continue;
      metrics.recordSecond(
        job.id,
        job.graph.jobGraph.vertices.map((v) => v.id),
      );
      throughput += this.sourceRate(job.id) ?? 0;
    }
    metrics.recordThroughput(throughput);
    if (throughput !== this.#lastThroughput) {
      this.#lastThroughput = throughput;
      this.#o.registry.changes.notify();
    }
  }
}

export { subtaskName };
