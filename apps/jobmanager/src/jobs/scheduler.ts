/**
 * The JobManager's scheduler (Flink's `DefaultScheduler` with the
 * pipelined-region failover strategy): allocates slots, deploys a job's
 * pipelined regions, follows every execution through the TaskManagers'
 * reports, and handles failures.
 *
 * A failure — a subtask FAILED (or cancelled without being asked), a
 * TaskManager lost (heartbeat timeout, or reported at once by a peer whose
 * data connection to it broke), too many failed checkpoints — restarts the
 * regions holding the failed executions:
 *
 * 1. the pending checkpoint is aborted and the job goes RESTARTING;
 * 2. the regions' live executions are cancelled (CANCELING, a `cancel`
 *    command naming their attempt) and the scheduler waits until they ended,
 *    or until the cancel timeout;
 * 3. the restart strategy decides: no restart fails the job with the root
 *    cause; a restart waits its delay, replaces the slots of lost
 *    TaskManagers (waiting for free slots up to the slot-request timeout,
 *    then asking the strategy again), bumps the attempt and deploys the
 *    regions with the latest completed checkpoint's state.
 *
 * A staged BATCH job (blocking exchanges between its stages, see
 * `ExecutionGraph.staged`) deploys a region only once the regions whose
 * result partitions it reads finished, and tells the TaskManagers where
 * those partitions are; a failed region restarts alone and reads them
 * again. A lost TaskManager takes its partitions with it: the finished
 * regions that wrote them run again when a region still needs them. The
 * partitions are released on every TaskManager that held any when the job
 * ends.
 *
 * Every change goes through one lock (`#serial`), is persisted through the
 * {@link JobStore} and announced on the job's change feed. Time and timers
 * come from an injected clock, so the unit tests drive them.
 */
import { ConflictError, NotFoundError } from '@freshet/errors';
import type { JobStatus } from '@freshet/db';
import type {
  DeployedSlot,
  ExecutionState,
  PartitionLocation,
  ProgramInvocation,
  RunningDeployment,
  SubtaskStateUpdate,
  TaskManagerCommand,
} from '@freshet/protocol';
import {
  createRestartStrategy,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type CoordinatorClock,
  type RestartStrategy,
} from '@freshet/runtime';
import { ChangeFeed } from '../cluster/changes.js';
import { dataPlaneSecret } from '../cluster/data-plane-secret.js';
import type { ClusterRegistry, SchedulableTaskManager, TaskManagerLoss } from '../cluster/registry.js';
import type { Logger } from '../logger.js';
import { JobCheckpoints, type InitialRestore } from './checkpoints.js';
import {
  DEPLOYED,
  ExecutionGraph,
  slotsNeeded,
  TERMINAL,
  TERMINAL_JOB,
  type ExecutionVertex,
  type Transition,
} from './execution-graph.js';
import {
  executionsLostWith,
  finishedSlots,
  partitionsLostWith,
  regionsToRestart,
  slotsToReplace,
} from './failover.js';
import type { ArchivedJob, JobEventInput, JobStore, StatusFields, StoredJob } from './job-store.js';
import type { SlotPool } from './slot-pool.js';

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

/** Why a job (or some of its regions) must restart. */
export interface Failure {
  /** One line for the job's history and, if it fails, its failure cause. */
  cause: string;
  stackTrace?: string;
  /** The failure is a subtask cancelled without being asked; a subtask's own failure may still come and becomes the cause. */
  fromCancel?: boolean;
  /**
   * An execution the failure took down, when nothing else records one (a
   * lost TaskManager's): the exception names its subtask, attempt and TaskManager.
   */
  executionId?: string;
}

/** A restart of some regions under way. */
interface Failover {
  regions: Set<number>;
  /** Waiting for the regions' executions to end and the strategy's delay to pass, or for free slots. */
  phase: 'cancelling' | 'slots';
  /** Epoch ms the restart strategy allows the restart at. */
  restartAt: number;
  /** The delay timer, while the executions ended before the delay passed. */
  timer?: unknown;
}

/** A job this JobManager schedules, in memory. */
export interface ActiveJob {
  readonly id: string;
  readonly name: string;
  readonly graph: ExecutionGraph;
  readonly artifactId: string;
  readonly bundleSha256: string;
  readonly program: ProgramInvocation;
  /** Set once a stop with a savepoint committed it: the job ends FINISHED when its executions are cancelled. */
  stoppedWith?: string;
  readonly strategy: RestartStrategy;
  readonly checkpoints: JobCheckpoints;
  readonly changes: ChangeFeed;
  readonly collected: Map<string, CollectedRecords>;
  /** Records held in `collected`, over its collect ids. */
  collectedKept: number;
  /** Moves the ended job out of memory (see {@link SchedulerOptions.onEnded}). */
  evictTimer?: unknown;
  /** Whether the "waiting for slots" event was written (once per wait). */
  announcedWait: boolean;
  slotTimer?: unknown;
  cancelTimer?: unknown;
  failover?: Failover;
  /** The root cause of the current failure. */
  failure?: Failure;
  /** TaskManagers a staged job was deployed to (they may hold its result partitions until it ends). */
  partitionHosts?: Set<string>;
  /** A staged job's global slots as last deployed (stand-ins for the slots its finished stages gave back). */
  slotHistory?: DeployedSlot[];
}

/** Options of the {@link Scheduler}. */
export interface SchedulerOptions {
  store: JobStore;
  registry: ClusterRegistry;
  pool: SlotPool;
  gateway: {
    send(taskManagerId: string, command: TaskManagerCommand): void;
  };
  logger: Logger;
  clock: CoordinatorClock;
  /** Where the jobs' checkpoints are stored. */
  storage: CheckpointStorage;
  /** New Execution ids. */
  newId: () => string;
  /** How long a job waits for free slots before it fails (or, restarting, asks its strategy again). */
  slotRequestTimeoutMs: number;
  /** How long TaskManagers have to confirm a cancellation before the JobManager assumes it. */
  cancelTimeoutMs: number;
  /** Called once when a job reaches a terminal status (its owner moves it out of memory later). */
  onEnded?: (job: ActiveJob) => void;
  /** The job's results as they are now, written with its terminal status (its final accumulators and metrics). */
  archiveOf?: (job: ActiveJob) => ArchivedJob;
}

/** Cause recorded for jobs a previous JobManager left running that cannot be recovered. */
export const RESTART_CAUSE = 'JobManager restarted while the job was running';

const errorText = (e: { name: string; message: string; stack?: string | undefined }): string =>
  e.stack !== undefined && e.stack.length > 0 ? e.stack : `${e.name}: ${e.message}`;

/** Schedules jobs and restarts what fails. */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #jobs = new Map<string, ActiveJob>();
  /** Jobs waiting for slots (to start, or to restart), first come first served. */
  readonly #waiting: ActiveJob[] = [];
  #lock: Promise<unknown> = Promise.resolve();

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** The in-memory job, if this JobManager schedules (or scheduled) it. */
  job(jobId: string): ActiveJob | undefined {
    return this.#jobs.get(jobId);
  }

  /** Every job in memory. */
  jobs(): IterableIterator<ActiveJob> {
    return this.#jobs.values();
  }

  /** Drops an ended job from memory (the database holds it). */
  forget(job: ActiveJob): void {
    if (this.#jobs.get(job.id) !== job) return;
    this.#clearTimers(job);
    this.#o.clock.clearTimeout(job.evictTimer);
    this.#jobs.delete(job.id);
    const i = this.#waiting.indexOf(job);
    if (i >= 0) this.#waiting.splice(i, 1);
  }

  /** Runs `fn` after every earlier state change: one writer at a time keeps the books consistent. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Waits for the changes under way, then clears every timer. */
  async stop(): Promise<void> {
    await this.#lock.catch(() => undefined);
    for (const job of this.#jobs.values()) {
      this.#clearTimers(job);
      job.checkpoints.coordinator.stop('the JobManager is stopping');
    }
  }

  // ------------------------------------------------------------ submission and recovery

  /**
   * The in-memory state of a job as the store has it: its ExecutionGraph,
   * restart strategy and checkpoint coordinator (starting at
   * `nextCheckpointId`, with the `completed` checkpoints it retains).
   */
  activate(
    stored: StoredJob,
    nextCheckpointId: number,
    completed: readonly CompletedCheckpoint[],
    initial?: InitialRestore,
  ): ActiveJob {
    const { logger } = this.#o;
    const graph = new ExecutionGraph({
      jobId: stored.id,
      jobGraph: stored.jobGraph,
      newId: this.#o.newId,
      status: stored.status,
      attempt: stored.attempt,
      restarts: stored.restarts,
    });
    graph.adopt(stored.executions);
    const changes = new ChangeFeed();
    // eslint-disable-next-line prefer-const -- the job and its checkpoints refer to each other
    let job: ActiveJob;
    const checkpoints = new JobCheckpoints({
      graph,
      checkpointing: stored.jobGraph.checkpointing,
      storage: this.#o.storage,
      store: this.#o.store,
      gateway: this.#o.gateway,
      logger,
      clock: this.#o.clock,
      nextCheckpointId,
      completed,
      initial,
      onJobFailure: (error) => {
        this.failAll(job, { cause: error.message }).catch(
          this.#logFailure(job, 'Failing a job after checkpoint failures'),
        );
      },
      onChange: () => {
        changes.notify();
      },
    });
    job = {
      id: stored.id,
      name: stored.name,
      graph,
      artifactId: stored.artifactId,
      bundleSha256: stored.bundleSha256,
      program: stored.program,
      strategy: createRestartStrategy(stored.restartStrategy),
      checkpoints,
      changes,
      collected: new Map(),
      collectedKept: 0,
      announcedWait: false,
    };
    return job;
  }

  /** Takes a submitted (persisted, CREATED) job and schedules it; it waits for slots up to the slot-request timeout. */
  submit(job: ActiveJob): Promise<void> {
    this.#jobs.set(job.id, job);
    return this.serial(async () => {
      this.#waiting.push(job);
      await this.scheduleWaiting();
      if (job.graph.status === 'CREATED' && job.graph.slots.length === 0) this.#startSlotTimer(job);
    });
  }

  /**
   * Takes a job a previous JobManager left unfinished. FAILING and
   * CANCELLING jobs end (FAILED, CANCELED); the others restart with a new
   * attempt from their latest completed checkpoint — or, without one, as
   * their restart strategy decides — once TaskManagers offer slots.
   */
  recover(job: ActiveJob): Promise<void> {
    this.#jobs.set(job.id, job);
    return this.serial(async () => {
      const { graph } = job;
      const at = this.#now();
      const ended: Transition[] = [];
      for (const v of graph.vertices()) {
        if (TERMINAL.has(v.current.state)) continue;
        const t = graph.transition(
          v,
          'CANCELED',
          'the JobManager restarted; whatever ran of this attempt is cancelled',
        );
        if (t !== undefined) ended.push(t);
      }
      await this.#o.store.recordTransitions(job.id, ended, at);
      if (graph.status === 'FAILING' || graph.status === 'CANCELLING') {
        await this.#evaluate(job);
        return;
      }
      const latest = job.checkpoints.restorePointId;
      let cause: string;
      if (latest !== undefined) {
        cause = `${RESTART_CAUSE}; recovering from ${job.checkpoints.latest === undefined ? 'the savepoint of checkpoint' : 'checkpoint'} ${latest}`;
      } else {
        const decision = job.strategy.onFailure(at.getTime());
        if (!decision.restart) {
          await this.#fail(job, { cause: RESTART_CAUSE });
          return;
        }
        cause = `${RESTART_CAUSE}; restarting from scratch (no completed checkpoint)`;
      }
      await this.#setStatus(job, 'RESTARTING', cause);
      await this.#o.store.recordEvent(job.id, { kind: 'INFO', message: cause }, at);
      job.failover = {
        regions: new Set(graph.regions.regions.map((r) => r.index)),
        phase: 'slots',
        restartAt: at.getTime(),
      };
      this.#waiting.push(job);
      this.#startSlotTimer(job);
      await this.scheduleWaiting();
    });
  }

  // ------------------------------------------------------------ cancel

  /** Cancels a job; CONFLICT when it already ended. */
  cancel(jobId: string): Promise<{ jobId: string; status: JobStatus }> {
    return this.serial(async () => {
      const job = this.#jobs.get(jobId);
      if (job === undefined) {
        const status = await this.#o.store.jobStatus(jobId);
        if (status === null) throw notFound(jobId);
        throw new ConflictError(`Job ${jobId} is ${status}; only running jobs can be cancelled`);
      }
      const status = job.graph.status;
      if (TERMINAL_JOB.has(status)) {
        throw new ConflictError(`Job ${jobId} is ${status}; only running jobs can be cancelled`);
      }
      if (status === 'CANCELLING' || status === 'FAILING') return { jobId, status };
      await this.#wind(job, 'CANCELLING', 'Cancelled by the user');
      return { jobId, status: job.graph.status };
    });
  }

  /**
   * Ends a job whose stop-with-savepoint completed (its sinks were told to
   * commit it): every execution is cancelled, and the job ends FINISHED.
   */
  endStopped(job: ActiveJob, savepoint: string): Promise<void> {
    return this.serial(async () => {
      if (TERMINAL_JOB.has(job.graph.status) || job.graph.status === 'CANCELLING') return;
      job.stoppedWith = savepoint;
      await this.#wind(job, 'CANCELLING', `Stopped with a savepoint in ${savepoint}`);
    });
  }

  // ------------------------------------------------------------ reports

  /** Applies a TaskManager's state transitions; returns how many were applied. */
  reportStates(taskManagerId: string, updates: readonly SubtaskStateUpdate[]): Promise<number> {
    return this.serial(async () => {
      let accepted = 0;
      const byJob = new Map<ActiveJob, Transition[]>();
      for (const u of updates) {
        const job = this.#jobs.get(u.jobId);
        if (job === undefined) continue;
        const outcome = job.graph.report(
          u.vertexId,
          u.subtaskIndex,
          u.attempt,
          taskManagerId,
          u.state,
          u.error,
        );
        if (!outcome.applied) continue;
        let list = byJob.get(job);
        if (list === undefined) byJob.set(job, (list = []));
        list.push(outcome.transition);
        accepted++;
      }
      for (const [job, transitions] of byJob) await this.#applied(job, transitions);
      return accepted;
    });
  }

  /** Transitions just applied to a job: persisted, then their consequences. */
  async #applied(job: ActiveJob, transitions: readonly Transition[]): Promise<void> {
    await this.#persist(job, transitions);
    const { coordinator } = job.checkpoints;
    const failed: ExecutionVertex[] = [];
    let failure: Failure | undefined;
    for (const t of transitions) {
      const v = job.graph.vertex(t.execution.vertexId, t.execution.subtask)!;
      if (t.to === 'RUNNING') coordinator.executionRunning(v.vertexId, v.subtask, t.execution.attempt);
      if (t.to !== 'FAILED' && t.to !== 'CANCELED') continue;
      if (t.from === 'CANCELING') {
        // Asked to cancel, it ended failing: its own error may be a better root cause than the one known.
        if (t.to === 'FAILED' && t.error !== undefined)
          await this.#recordRootCause(job, await this.#failureOf(v, t));
        continue;
      }
      // FAILED, or CANCELED without being asked (a peer stopped its part after a failure elsewhere).
      failed.push(v);
      const f = await this.#failureOf(v, t);
      this.#o.logger.warn(
        {
          jobId: job.id,
          vertexId: v.vertexId,
          subtask: v.subtask,
          attempt: t.execution.attempt,
          taskManagerId: v.current.taskManagerId,
        },
        f.cause,
      );
      if (failure === undefined || (failure.fromCancel === true && f.fromCancel !== true)) failure = f;
    }
    if (failure !== undefined) {
      await this.#handleFailure(job, failed, failure);
      return;
    }
    await this.#maybeRestart(job);
    await this.#evaluate(job);
    await this.#deployReady(job);
  }

  /** A staged job: deploys the regions whose inputs just became complete (unless a restart is under way). */
  async #deployReady(job: ActiveJob): Promise<void> {
    const { graph } = job;
    if (!graph.staged || job.failover !== undefined) return;
    if (graph.status !== 'CREATED' && graph.status !== 'RUNNING' && graph.status !== 'RESTARTING') return;
    if (graph.slots.length === 0) return;
    const ready = graph
      .readyRegions()
      .filter((r) =>
        graph.regionVertices(r).every((v) => graph.slots[graph.slotOf(v.subtask)] !== undefined),
      );
    if (ready.length > 0) await this.#deploy(job, ready);
  }

  // ------------------------------------------------------------ TaskManagers

  /**
   * A TaskManager's session ended with work possibly on it: its slots are
   * gone, and its live executions fail (their regions restart).
   */
  onTaskManagerLost(loss: TaskManagerLoss): Promise<void> {
    return this.serial(async () => {
      const cause = `TaskManager ${loss.id} (${loss.host}:${loss.dataPort}) was lost: ${loss.reason}`;
      // Registered again already (a re-registration ends the old session): what it reported running stays taken.
      this.#o.pool.dropTaskManager(loss.id, this.#o.registry.hasSession(loss.id));
      for (const job of this.#jobs.values()) {
        if (TERMINAL_JOB.has(job.graph.status)) continue;
        const lost = executionsLostWith(job.graph, loss.id);
        const partitions = partitionsLostWith(job.graph, loss.id);
        if (lost.length === 0 && partitions.length === 0) continue;
        const transitions: Transition[] = [];
        for (const v of lost) {
          const t = job.graph.transition(v, 'FAILED', cause);
          if (t !== undefined) transitions.push(t);
        }
        this.#o.logger.warn(
          { jobId: job.id, taskManagerId: loss.id, subtasks: transitions.length },
          'Subtasks lost with their TaskManager',
        );
        await this.#persist(job, transitions);
        const first = lost[0] ?? partitions[0];
        await this.#handleFailure(job, [...lost, ...partitions], {
          cause:
            partitions.length === 0
              ? cause
              : `${cause} (with the result partitions of ${partitions.length} finished subtask${partitions.length === 1 ? '' : 's'}, which run again)`,
          ...(first === undefined ? {} : { executionId: first.current.id }),
        });
      }
      this.#o.registry.changes.notify();
    });
  }

  /**
   * A TaskManager (re-)registered reporting what it runs. Called before the
   * registration is announced to anyone who might place work on it: every
   * slot it reports busy and no job holds counts as used at once (an orphan
   * until shown otherwise); the {@link Scheduler.reconcile} that follows, in
   * order after the changes under way (a loss this registration caused is
   * handled first), cancels what is not current.
   */
  registered(taskManager: SchedulableTaskManager, running: readonly RunningDeployment[]): void {
    const busy = new Set<number>();
    for (const d of running) for (const s of d.slotIndexes) busy.add(s);
    this.#o.pool.reconcileOrphans(taskManager, busy);
    void this.serial(() => {
      if (this.#o.registry.hasSession(taskManager.id)) this.reconcile(taskManager, running);
      return Promise.resolve();
    }).catch((err: unknown) => {
      this.#o.logger.error({ err, taskManagerId: taskManager.id }, 'Reconciling a TaskManager failed');
    });
  }

  /**
   * What a TaskManager reports running (at registration and with every
   * heartbeat): deployments that are not current are cancelled, and the
   * slots they occupy count as used until they are reported gone.
   */
  reconcile(taskManager: SchedulableTaskManager, running: readonly RunningDeployment[]): void {
    const orphanSlots = new Set<number>();
    for (const d of running) {
      if (this.#isCurrent(d, taskManager.id)) continue;
      for (const s of d.slotIndexes) orphanSlots.add(s);
      this.#o.gateway.send(taskManager.id, {
        type: 'cancel',
        jobId: d.jobId,
        attempt: d.attempt,
        regions: [d.region],
      });
    }
    if (this.#o.pool.reconcileOrphans(taskManager, orphanSlots)) {
      this.#o.registry.changes.notify();
      if (this.#waiting.length > 0) void this.serial(() => this.scheduleWaiting()).catch(() => undefined);
    }
  }

  /** Whether deployment `d` on `taskManagerId` runs a current attempt of live executions. */
  #isCurrent(d: RunningDeployment, taskManagerId: string): boolean {
    const job = this.#jobs.get(d.jobId);
    if (job === undefined || TERMINAL_JOB.has(job.graph.status)) return false;
    // A staged job's TaskManager may serve a region's partitions without running any of its subtasks.
    if (job.graph.staged && d.slotIndexes.length === 0)
      return job.graph
        .regionVertices(d.region)
        .some((v) => v.current.attempt === d.attempt && !TERMINAL.has(v.current.state));
    return job.graph
      .regionVertices(d.region)
      .some(
        (v) =>
          v.current.attempt === d.attempt &&
          v.current.taskManagerId === taskManagerId &&
          !TERMINAL.has(v.current.state),
      );
  }

  // ------------------------------------------------------------ failover

  /** The whole job failed (too many failed checkpoints): every region restarts, as the strategy decides. */
  failAll(job: ActiveJob, failure: Failure): Promise<void> {
    return this.serial(() => this.#handleFailure(job, job.graph.vertices(), failure));
  }

  /**
   * Executions of `job` failed: restart their regions (or, when the job is
   * already ending, just follow its end).
   */
  async #handleFailure(job: ActiveJob, failed: readonly ExecutionVertex[], failure: Failure): Promise<void> {
    const { graph } = job;
    if (graph.status === 'FAILING' || graph.status === 'CANCELLING' || TERMINAL_JOB.has(graph.status)) {
      await this.#recordRootCause(job, failure);
      await this.#evaluate(job);
      return;
    }
    const regions = regionsToRestart(failed);
    const now = this.#o.clock.now();
    await this.#o.store.recordEvent(job.id, exceptionEvent(failure), new Date(now));
    const root =
      job.failure === undefined || (job.failure.fromCancel === true && failure.fromCancel !== true)
        ? failure
        : job.failure;
    const pending = job.failover;
    if (pending?.phase === 'cancelling') {
      // Part of the failure already being handled (a peer's subtasks failing with it): no new decision.
      for (const r of regions) pending.regions.add(r);
    } else {
      // As Flink: the restart strategy decides at once, so a job that will not restart goes FAILING straight away.
      const decision = job.strategy.onFailure(now);
      if (!decision.restart) {
        if (pending !== undefined) this.#dropFailover(job);
        await this.#o.store.recordEvent(
          job.id,
          { kind: 'INFO', message: `Not restarting the job: ${decision.reason}` },
          new Date(now),
        );
        await this.#fail(job, root);
        return;
      }
      if (pending !== undefined) {
        // A restart waiting for slots: the newly failed regions join it, after the new delay.
        this.#dropFailover(job);
        for (const r of pending.regions) regions.add(r);
      }
      job.failover = { regions, phase: 'cancelling', restartAt: now + decision.delayMs };
      this.#o.logger.warn(
        { jobId: job.id, regions: [...regions], cause: failure.cause, delayMs: decision.delayMs },
        `Restarting ${regions.size} of ${graph.regions.regions.length} region(s) of job ${job.id}`,
      );
    }
    job.failure = root;
    await job.checkpoints.coordinator.quiesce(`a failure restarts the job: ${failure.cause}`);
    await this.#setStatus(job, 'RESTARTING', failure.cause);
    await this.#cancelRegions(job, job.failover!.regions, failure.cause);
    await this.#maybeRestart(job);
  }

  /** Forgets a pending restart's timer and its place in the slot queue (it is replaced or given up). */
  #dropFailover(job: ActiveJob): void {
    const f = job.failover;
    if (f === undefined) return;
    this.#o.clock.clearTimeout(f.timer);
    f.timer = undefined;
    const i = this.#waiting.indexOf(job);
    if (i >= 0) this.#waiting.splice(i, 1);
    this.#o.clock.clearTimeout(job.slotTimer);
    job.slotTimer = undefined;
    job.failover = undefined;
  }

  /** Cancels the live executions of `regions` (CANCELING + cancel commands, or CANCELED at once). */
  async #cancelRegions(job: ActiveJob, regions: ReadonlySet<number>, cause: string): Promise<void> {
    const vertices = job.graph.vertices().filter((v) => regions.has(v.region));
    await this.#cancelExecutions(job, vertices, `its region restarts: ${cause}`);
  }

  /**
   * Cancels executions: deployed ones on a TaskManager with a session go
   * CANCELING and their TaskManagers get a `cancel` command per attempt and
   * region; the others are CANCELED at once. A cancel timer assumes the
   * cancellation of those that do not confirm in time.
   */
  async #cancelExecutions(
    job: ActiveJob,
    vertices: readonly ExecutionVertex[],
    cause: string,
  ): Promise<void> {
    const { graph } = job;
    const transitions: Transition[] = [];
    const commands = new Map<string, { tm: string; attempt: number; regions: Set<number> }>();
    for (const v of vertices) {
      const e = v.current;
      if (TERMINAL.has(e.state) || e.state === 'CANCELING') continue;
      const onTaskManager =
        DEPLOYED.has(e.state) && e.taskManagerId !== null && this.#o.registry.hasSession(e.taskManagerId);
      const t = graph.transition(
        v,
        onTaskManager ? 'CANCELING' : 'CANCELED',
        onTaskManager ? undefined : cause,
      );
      if (t === undefined) continue;
      transitions.push(t);
      if (onTaskManager) {
        const key = `${e.taskManagerId}#${e.attempt}`;
        let c = commands.get(key);
        if (c === undefined)
          commands.set(key, (c = { tm: e.taskManagerId!, attempt: e.attempt, regions: new Set() }));
        c.regions.add(v.region);
      }
    }
    await this.#persist(job, transitions);
    for (const c of commands.values()) {
      this.#o.gateway.send(c.tm, {
        type: 'cancel',
        jobId: job.id,
        attempt: c.attempt,
        regions: [...c.regions],
      });
    }
    if (commands.size > 0 && job.cancelTimer === undefined) {
      const { clock, cancelTimeoutMs } = this.#o;
      job.cancelTimer = clock.setTimeout(() => {
        job.cancelTimer = undefined;
        void this.serial(() => this.#cancelTimedOut(job)).catch(
          this.#logFailure(job, 'Assuming a cancellation'),
        );
      }, cancelTimeoutMs);
    }
  }

  async #cancelTimedOut(job: ActiveJob): Promise<void> {
    const transitions: Transition[] = [];
    for (const v of job.graph.vertices()) {
      if (v.current.state !== 'CANCELING') continue;
      const t = job.graph.transition(
        v,
        'CANCELED',
        `TaskManager ${v.current.taskManagerId ?? '?'} did not confirm the cancellation within ${this.#o.cancelTimeoutMs} ms`,
      );
      if (t !== undefined) transitions.push(t);
    }
    if (transitions.length === 0) return;
    await this.#persist(job, transitions);
    await this.#maybeRestart(job);
    await this.#evaluate(job);
  }

  /** Once the restarting regions' executions all ended and the strategy's delay passed: look for slots. */
  async #maybeRestart(job: ActiveJob): Promise<void> {
    const f = job.failover;
    if (f === undefined || f.phase !== 'cancelling' || f.timer !== undefined) return;
    const alive = job.graph.vertices().some((v) => f.regions.has(v.region) && !TERMINAL.has(v.current.state));
    if (alive) return;
    const toSlots = async (): Promise<void> => {
      if (job.failover !== f || f.phase !== 'cancelling') return;
      f.phase = 'slots';
      job.announcedWait = false;
      this.#waiting.push(job);
      this.#startSlotTimer(job);
      await this.scheduleWaiting();
    };
    const waitMs = f.restartAt - this.#o.clock.now();
    if (waitMs <= 0) {
      await toSlots();
      return;
    }
    f.timer = this.#o.clock.setTimeout(() => {
      f.timer = undefined;
      void this.serial(toSlots).catch(this.#logFailure(job, 'Restarting'));
    }, waitMs);
  }

  /** Fails the whole job with the root cause: everything still running is cancelled, then FAILED. */
  async #fail(job: ActiveJob, failure: Failure): Promise<void> {
    const at = this.#now();
    await this.#o.store.setFailureCause(job.id, failure.stackTrace ?? failure.cause);
    await this.#o.store.recordEvent(job.id, exceptionEvent(failure), at);
    job.failure = failure;
    await this.#wind(job, 'FAILING', failure.cause);
  }

  /**
   * A subtask's own failure came in after the job (or its regions) started
   * failing because of an unexpected cancellation: it is the better cause.
   */
  async #recordRootCause(job: ActiveJob, failure: Failure): Promise<void> {
    if (job.failure?.fromCancel !== true || failure.fromCancel === true) return;
    job.failure = failure;
    if (job.graph.status === 'FAILING')
      await this.#o.store.setFailureCause(job.id, failure.stackTrace ?? failure.cause);
    await this.#o.store.recordEvent(job.id, exceptionEvent(failure), this.#now());
  }

  /** The failure to record for a failed (or unexpectedly cancelled) execution. */
  async #failureOf(v: ExecutionVertex, t: Transition): Promise<Failure> {
    const what = t.to === 'FAILED' ? 'failed' : 'was cancelled unexpectedly';
    const detail =
      t.error !== undefined
        ? errorText(t.error)
        : (t.cause ?? (await this.#o.store.failureCauseOf(v.current.id)));
    const firstLine = detail?.split('\n')[0];
    const failure: Failure = {
      cause: `${t.name} on TaskManager ${v.current.taskManagerId ?? '?'} ${what}${firstLine ? `: ${firstLine}` : ''}`,
    };
    if (detail !== null && detail !== undefined && t.error !== undefined) failure.stackTrace = detail;
    if (t.to === 'CANCELED') failure.fromCancel = true;
    return failure;
  }

  // ------------------------------------------------------------ scheduling

  /** Starts or restarts every waiting job that now finds its slots, in order. */
  async scheduleWaiting(): Promise<void> {
    while (this.#waiting.length > 0) {
      const job = this.#waiting[0]!;
      const wants =
        (job.graph.status === 'CREATED' && job.graph.slots.length === 0) || job.failover?.phase === 'slots';
      if (!wants) {
        this.#waiting.shift();
        continue;
      }
      const started = job.failover === undefined ? await this.#tryStart(job) : await this.#tryRestart(job);
      if (!started) return;
      this.#waiting.shift();
    }
  }

  /** First deployment: every slot the job needs, then every region at attempt 0. */
  async #tryStart(job: ActiveJob): Promise<boolean> {
    const { graph } = job;
    const needed = slotsNeeded(graph.jobGraph);
    const taskManagers = this.#o.registry.schedulable();
    const allocated = this.#o.pool.allocate(job.id, needed, taskManagers);
    if (allocated === undefined) {
      await this.#announceWait(job, needed, taskManagers);
      return false;
    }
    this.#o.clock.clearTimeout(job.slotTimer);
    job.slotTimer = undefined;
    graph.slots = allocated.map((a) => ({
      taskManagerId: a.taskManager.id,
      host: a.taskManager.host,
      dataPort: a.taskManager.dataPort,
      slotIndex: a.slotIndex,
    }));
    job.checkpoints.coordinator.startAttempt(graph.attempt);
    await this.#deploy(
      job,
      graph.regions.regions.map((r) => r.index),
    );
    return true;
  }

  /** A restart waiting for slots: replace the lost ones, bump the attempt, deploy the regions. */
  async #tryRestart(job: ActiveJob): Promise<boolean> {
    const { graph } = job;
    const f = job.failover!;
    const replace = slotsToReplace(
      graph,
      f.regions,
      (s) =>
        this.#o.registry.hasSession(s.taskManagerId) &&
        this.#o.pool.holds(job.id, s.taskManagerId, s.slotIndex),
    );
    const taskManagers = this.#o.registry.schedulable();
    if (replace.length > 0) {
      const allocated = this.#o.pool.allocate(job.id, replace.length, taskManagers);
      if (allocated === undefined) {
        await this.#announceWait(job, replace.length, taskManagers);
        return false;
      }
      if (graph.slots.length === 0)
        graph.slots = new Array<undefined>(slotsNeeded(graph.jobGraph)).fill(undefined);
      replace.forEach((g, i) => {
        const a = allocated[i]!;
        graph.slots[g] = {
          taskManagerId: a.taskManager.id,
          host: a.taskManager.host,
          dataPort: a.taskManager.dataPort,
          slotIndex: a.slotIndex,
        };
      });
    }
    this.#o.clock.clearTimeout(job.slotTimer);
    job.slotTimer = undefined;
    const regions = [...f.regions].sort((a, b) => a - b);
    const { attempt, executions } = graph.restartRegions(regions);
    const at = this.#now();
    await this.#o.store.createAttempt(job.id, executions, { attempt, restarts: graph.restarts }, at);
    job.checkpoints.coordinator.startAttempt(
      attempt,
      executions.map((e) => ({ vertexId: e.vertexId, subtask: e.subtask })),
    );
    const restore = job.checkpoints.latest;
    await this.#o.store.recordEvent(
      job.id,
      {
        kind: 'INFO',
        message: `Restarting ${regions.length} region${regions.length === 1 ? '' : 's'} (${executions.length} subtasks) as attempt ${attempt}${restore === undefined ? ' from scratch' : ` from checkpoint ${restore.checkpointId}`}`,
      },
      at,
    );
    job.failover = undefined;
    job.failure = undefined;
    await this.#deploy(job, regions);
    // A staged job: regions that became ready while the restart was under way.
    await this.#deployReady(job);
    return true;
  }

  async #announceWait(
    job: ActiveJob,
    needed: number,
    taskManagers: readonly SchedulableTaskManager[],
  ): Promise<void> {
    if (job.announcedWait) return;
    job.announcedWait = true;
    await this.#o.store.recordEvent(
      job.id,
      {
        kind: 'INFO',
        message: `Waiting for ${needed} task slots: the cluster has ${this.#o.pool.describe(taskManagers)}`,
      },
      this.#now(),
    );
    job.changes.notify();
  }

  #startSlotTimer(job: ActiveJob): void {
    if (job.slotTimer !== undefined) return;
    job.slotTimer = this.#o.clock.setTimeout(() => {
      job.slotTimer = undefined;
      void this.serial(() => this.#slotRequestTimedOut(job)).catch(
        this.#logFailure(job, 'Timing out a slot request'),
      );
    }, this.#o.slotRequestTimeoutMs);
  }

  /** No slots came in time: a new job fails; a restarting one asks its strategy again. */
  async #slotRequestTimedOut(job: ActiveJob): Promise<void> {
    const { graph } = job;
    const capacity = this.#o.pool.describe(this.#o.registry.schedulable());
    if (graph.status === 'CREATED' && graph.slots.length === 0) {
      await this.#fail(job, {
        cause: `Not enough task slots: the job needs ${slotsNeeded(graph.jobGraph)}, the cluster has ${capacity}`,
      });
      return;
    }
    const f = job.failover;
    if (f?.phase !== 'slots') return;
    const cause = `No task slots for the restart within ${this.#o.slotRequestTimeoutMs} ms: the cluster has ${capacity}`;
    // A failure of its own: the strategy decides again whether (and when) to try once more.
    await this.#handleFailure(job, [], { cause });
  }

  /** Deploys `regions` of the job in its current attempt: one deploy command per region and TaskManager. */
  async #deploy(job: ActiveJob, all: readonly number[]): Promise<void> {
    const { graph } = job;
    // A staged job deploys a region once its inputs are complete; the others wait (see #deployReady).
    const ready = graph.staged ? new Set(graph.readyRegions()) : undefined;
    const regions = ready === undefined ? all : all.filter((r) => ready.has(r));
    if (regions.length === 0) return;
    const wanted = new Set(regions);
    const vertices = graph.vertices().filter((v) => wanted.has(v.region));
    await this.#persist(job, graph.schedule(vertices));
    const deploying: Transition[] = [];
    for (const v of vertices) {
      const t = graph.transition(v, 'DEPLOYING');
      if (t !== undefined) deploying.push(t);
    }
    await this.#persist(job, deploying);
    const placeholder = graph.slots.find((s) => s !== undefined);
    const slots = graph.slots.map((s, g) => {
      if (s !== undefined) return s;
      // A staged job gives back the slots of finished stages; TaskManagers read only the slots of the region's own subtasks.
      if (graph.staged && placeholder !== undefined) return job.slotHistory?.[g] ?? placeholder;
      throw new RangeError(`global slot ${g} of job ${job.id} is not assigned`);
    });
    if (graph.staged) job.slotHistory = slots;
    const taskManagers = new Set<string>();
    for (const r of regions) {
      const members = graph.regionVertices(r);
      const attempt = members[0]!.current.attempt;
      const restore = job.checkpoints.restoreFor(members);
      const partitions = graph.staged ? this.#partitionsFor(job, r) : [];
      const deployment = {
        jobId: job.id,
        attempt,
        region: r,
        subtasks: members.map((v) => ({ vertexId: v.vertexId, subtask: v.subtask })),
        bundleSha256: job.bundleSha256,
        program: job.program,
        jobGraph: graph.jobGraph,
        slots,
        dataPlaneSecret: dataPlaneSecret(job.id, attempt),
        ...(restore === undefined ? {} : { restore }),
        // A staged job takes no checkpoints (as Flink's batch mode): each subtask commits as it ends.
        finalCheckpoints: !graph.staged,
        ...(graph.staged ? { blockingExchanges: true, partitions } : {}),
      };
      const hosts = new Set(members.map((v) => v.current.taskManagerId!));
      for (const p of partitions) hosts.add(p.taskManagerId);
      if (graph.staged) {
        job.partitionHosts ??= new Set();
        for (const tm of hosts) job.partitionHosts.add(tm);
      }
      for (const tm of hosts) {
        taskManagers.add(tm);
        this.#o.gateway.send(tm, { type: 'deploy', deployment });
      }
    }
    const needed = new Set(vertices.map((v) => graph.slotOf(v.subtask))).size;
    await this.#o.store.recordEvent(
      job.id,
      {
        kind: 'INFO',
        message: `Deploying ${regions.length === graph.regions.regions.length ? 'the job' : `${regions.length} region${regions.length === 1 ? '' : 's'}`} (attempt ${graph.attempt}) to ${taskManagers.size} TaskManager${taskManagers.size === 1 ? '' : 's'} (${[...taskManagers].join(', ')}) in ${needed} slot${needed === 1 ? '' : 's'}`,
      },
      this.#now(),
    );
    this.#o.logger.info(
      { jobId: job.id, attempt: graph.attempt, regions, taskManagers: [...taskManagers] },
      'Job deployed',
    );
    job.announcedWait = false;
    this.#o.registry.changes.notify();
    job.changes.notify();
  }

  /** Where the partitions region `region` reads are: the TaskManager of each finished producer of its upstream regions. */
  #partitionsFor(job: ActiveJob, region: number): PartitionLocation[] {
    const { graph } = job;
    const out: PartitionLocation[] = [];
    for (const u of graph.regions.regions[region]!.upstream) {
      for (const v of graph.regionVertices(u)) {
        const tm = v.current.taskManagerId;
        const address = tm === null ? undefined : this.#o.registry.address(tm);
        if (tm === null || address === undefined) continue;
        out.push({ producer: v.key, taskManagerId: tm, host: address.host, dataPort: address.dataPort });
      }
    }
    return out;
  }

  // ------------------------------------------------------------ status

  /**
   * Starts ending a job (FAILING or CANCELLING): every live execution is
   * cancelled, and the job ends once they all ended (or after the cancel
   * timeout).
   */
  async #wind(job: ActiveJob, status: 'FAILING' | 'CANCELLING', cause: string): Promise<void> {
    const f = job.failover;
    if (f !== undefined) {
      this.#o.clock.clearTimeout(f.timer);
      job.failover = undefined;
    }
    this.#o.clock.clearTimeout(job.slotTimer);
    job.slotTimer = undefined;
    job.checkpoints.coordinator.stop(`the job is ${status === 'FAILING' ? 'failing' : 'being cancelled'}`);
    await this.#setStatus(job, status, cause);
    await this.#cancelExecutions(job, job.graph.vertices(), cause);
    await this.#evaluate(job);
  }

  /** Moves the job to the status its executions call for, and gives back slots nothing needs. */
  async #evaluate(job: ActiveJob): Promise<void> {
    const { graph } = job;
    let next = graph.derivedStatus(job.failover !== undefined);
    if (next === 'CANCELED' && job.stoppedWith !== undefined) next = 'FINISHED';
    if (next !== undefined) {
      const why =
        next === 'FINISHED'
          ? job.stoppedWith !== undefined
            ? `Stopped with a savepoint in ${job.stoppedWith}`
            : 'All subtasks finished'
          : next === 'RUNNING'
            ? 'All subtasks are running'
            : next === 'FAILED'
              ? 'All subtasks ended after the failure'
              : 'All subtasks cancelled';
      await this.#setStatus(job, next, why);
      if (next === 'RUNNING') job.strategy.onRunning(this.#o.clock.now());
    }
    this.#releaseSlots(job);
  }

  #releaseSlots(job: ActiveJob): void {
    const { graph } = job;
    let freed = false;
    const release = (g: number): void => {
      const slot = graph.slots[g];
      if (slot === undefined) return;
      if (this.#o.pool.release(job.id, slot.taskManagerId, slot.slotIndex)) freed = true;
      graph.slots[g] = undefined;
    };
    if (TERMINAL_JOB.has(graph.status)) {
      graph.slots.forEach((_, g) => {
        release(g);
      });
      if (this.#o.pool.releaseJob(job.id)) freed = true;
    } else if (job.failover === undefined) {
      for (const g of finishedSlots(graph)) release(g);
    }
    if (freed) {
      this.#o.registry.changes.notify();
      if (this.#waiting.length > 0) void this.serial(() => this.scheduleWaiting()).catch(() => undefined);
    }
  }

  async #setStatus(job: ActiveJob, status: JobStatus, why: string): Promise<void> {
    const change = job.graph.setStatus(status);
    if (change === undefined) return;
    const at = this.#now();
    const fields: StatusFields = {};
    if (status === 'RUNNING') fields.startedAt = at;
    if (TERMINAL_JOB.has(status)) {
      fields.endedAt = at;
      // A subtask's last metrics (final accumulators) arrive before its end, so they are in here.
      const archived = this.#o.archiveOf?.(job);
      if (archived !== undefined) fields.archived = archived;
      this.#clearTimers(job);
      job.checkpoints.coordinator.stop(`the job is ${status}`);
      job.checkpoints.failSavepoints(`the job is ${status}`);
      for (const tm of job.partitionHosts ?? []) {
        if (this.#o.registry.hasSession(tm))
          this.#o.gateway.send(tm, { type: 'releasePartitions', jobId: job.id });
      }
    }
    await this.#o.store.setStatus(job.id, job.name, change, why, fields, at);
    if (TERMINAL_JOB.has(status)) this.#o.onEnded?.(job);
    this.#o.logger.info({ jobId: job.id, from: change.from, to: status }, `Job ${status}`);
    this.#o.registry.changes.notify();
    job.changes.notify();
  }

  async #persist(job: ActiveJob, transitions: readonly Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    await this.#o.store.recordTransitions(job.id, transitions, this.#now());
    job.changes.notify();
  }

  #clearTimers(job: ActiveJob): void {
    const { clock } = this.#o;
    clock.clearTimeout(job.slotTimer);
    clock.clearTimeout(job.cancelTimer);
    clock.clearTimeout(job.failover?.timer);
    job.slotTimer = undefined;
    job.cancelTimer = undefined;
  }

  #now(): Date {
    return new Date(this.#o.clock.now());
  }

  #logFailure(job: ActiveJob, what: string): (err: unknown) => void {
    return (err) => {
      this.#o.logger.error({ err, jobId: job.id }, `${what} failed`);
    };
  }
}

/** The job's EXCEPTION event of a failure. */
function exceptionEvent(failure: Failure): JobEventInput {
  return {
    kind: 'EXCEPTION',
    message: failure.cause,
    stackTrace: failure.stackTrace ?? null,
    ...(failure.executionId === undefined ? {} : { executionId: failure.executionId }),
  };
}

/** The error for an unknown job id. */
export function notFound(jobId: string): NotFoundError {
  return new NotFoundError(`No job with id ${JSON.stringify(jobId)}; list the jobs with \`freshet list\``);
}

/** States in which an execution counts as started (for `taskManagers.get`). */
export const SHOWN_STATES: readonly ExecutionState[] = [
  'SCHEDULED',
  'DEPLOYING',
  'INITIALIZING',
  'RUNNING',
  'CANCELING',
];
