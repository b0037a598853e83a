/**
 * The deployments this TaskManager runs: one per job, attempt and pipelined
 * region. It deploys on command (fetch and verify the bundle, fetch the
 * state to restore, start the slots — in a sandboxed child process per
 * deployment, where each slot re-plans the program and checks the plan
 * hash: the TaskManager's own process never runs user code),
 * cancels, relays checkpoint commands, uploads snapshots, and reports every
 * subtask state transition.
 *
 * Fencing by attempt: a deploy older than the newest attempt seen for its
 * region is dropped; a newer one first cancels the older attempt of the same
 * region here (and waits for it, bounded) before it starts; a checkpoint
 * command reaches only the deployment of the attempt it names; the data
 * plane refuses handshakes for attempts replaced here.
 *
 * A staged BATCH job's blocking result partitions live in this
 * TaskManager's {@link PartitionStore} (`<dataDir>/work/partitions`, memory
 * first): written by its producer deployments, served by later deployments
 * of the job (also here when none of their subtasks runs here), and
 * dropped on `releasePartitions` once the job ended.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  planOverridesOf,
  type Deployment,
  type ExecutionError,
  type FlameNodeShape,
  type RegisterTaskManagerOutput,
  type RunningDeployment,
  type SubtaskAttempt,
  type TaskManagerCommand,
} from '@freshet/protocol';
import {
  ClusterJob,
  PartitionStore,
  serializeError,
  type DataPlane,
  type ProgramSpec,
  type SerializedError,
  type SlotLauncher,
  type SlotRestore,
} from '@freshet/runtime';
import { fetchBundle } from './bundles.js';
import { fetchCheckpointState, uploadCheckpointState, type TransferTarget } from './checkpoint-transfer.js';
import type { Logger } from './logger.js';
import type { Reporter } from './reporter.js';

/** Options of {@link Deployments}. */
export interface DeploymentsOptions {
  jobManagerUrl: string;
  /** Bundles are cached under `<dataDir>/bundles`. */
  dataDir: string;
  dataPlane: DataPlane;
  reporter: Reporter;
  logger: Logger;
  session: () => RegisterTaskManagerOutput | undefined;
  /** How long a deploy waits for the older attempt of its region to stop here. @default 10000 */
  replaceTimeoutMs?: number;
  /** Where the slots of a deployment run. @default worker threads of this process */
  launcher?: SlotLauncher;
  /**
   * A deployment stopped here (its slots are free): the JobManager should
   * hear it before the next regular heartbeat, it may be waiting for them.
   */
  onStopped?: () => void;
  /** Bytes of blocking result partitions kept in memory before they spill to disk. @default 64 MiB */
  partitionMemoryBytes?: number;
}

interface Running {
  key: string;
  deployment: Deployment;
  /** This TaskManager's subtasks of the deployment. */
  subtasks: { vertexId: string; subtask: number }[];
  /** This TaskManager's slots the deployment occupies. */
  slotIndexes: number[];
  abort: AbortController;
  job: ClusterJob | undefined;
  done: Promise<void>;
}

const toExecutionError = (e: SerializedError): ExecutionError => {
  const out: ExecutionError = { name: e.name, message: e.message };
  if (e.code !== undefined) out.code = e.code;
  if (e.stack !== undefined) out.stack = e.stack;
  if (e.operator !== undefined) out.operator = e.operator;
  return out;
};

const keyOf = (jobId: string, attempt: number, region: number): string => `${jobId}#${attempt}#${region}`;
const regionKey = (jobId: string, region: number): string => `${jobId}#${region}`;
/** Jobs whose newest attempts are remembered (for fencing) once nothing of them runs here. */
const REMEMBERED_REGIONS = 10_000;

/** The deployments of this TaskManager. */
export class Deployments {
  readonly #opts: DeploymentsOptions;
  readonly #running = new Map<string, Running>();
  /** `jobId#region` -> the newest attempt deployed here. */
  readonly #newest = new Map<string, number>();
  #draining = false;
  /** Profiles asked for lately (a command sent again must not profile twice). */
  readonly #profiles = new Set<string>();
  /** Blocking result partitions of staged BATCH jobs. */
  readonly partitions: PartitionStore;

  constructor(opts: DeploymentsOptions) {
    this.#opts = opts;
    this.partitions = new PartitionStore({
      dir: join(opts.dataDir, 'work', 'partitions'),
      ...(opts.partitionMemoryBytes === undefined ? {} : { memoryBytes: opts.partitionMemoryBytes }),
    });
    // Partitions of a previous run of this TaskManager belong to jobs that no longer read them; so do spill files.
    this.partitions.clear();
    rmSync(join(opts.dataDir, 'work', 'spill'), { recursive: true, force: true });
    opts.dataPlane.admission = (jobId, attempt, region) =>
      attempt >= (this.#newest.get(regionKey(jobId, region)) ?? -1);
  }

  /** Slots running subtasks now. */
  get slotsUsed(): number {
    const used = new Set<number>();
    for (const r of this.#running.values()) for (const s of r.slotIndexes) used.add(s);
    return used.size;
  }

  /** What runs here, for registrations and heartbeats. */
  running(): RunningDeployment[] {
    return [...this.#running.values()].map((r) => ({
      jobId: r.deployment.jobId,
      attempt: r.deployment.attempt,
      region: r.deployment.region,
      slotIndexes: [...r.slotIndexes],
    }));
  }

  /** Handles a command (every command is idempotent: a second copy does no harm). */
  handle(command: TaskManagerCommand): void {
    switch (command.type) {
      case 'deploy':
        this.deploy(command.deployment);
        return;
      case 'cancel':
        void this.cancel(command.jobId, command.attempt, command.regions);
        return;
      case 'triggerCheckpoint':
        this.#route(command.jobId, command.tasks, (job) => {
          job.triggerCheckpoint(command.checkpointId, command.timestamp, command.stopSources === true);
        });
        return;
      case 'drainSources':
        this.#route(command.jobId, command.tasks, (job) => {
          job.drainSources();
        });
        return;
      case 'notifyCheckpointComplete':
        this.#route(command.jobId, command.tasks, (job) => {
          job.notifyCheckpointComplete(command.checkpointId);
        });
        return;
      case 'notifyCheckpointAborted':
        this.#route(command.jobId, command.tasks, (job) => {
          job.notifyCheckpointAborted(command.checkpointId);
        });
        return;
      case 'finishTasks':
        this.#route(command.jobId, command.tasks, (job, tasks) => {
          job.finishTasks(command.checkpointId, tasks);
        });
        return;
      case 'tapEdge':
        for (const job of this.#producersOf(command.jobId, command.attempt, command.edgeId))
          job.tapEdge(command.edgeId, command.ttlMs, command.maxPerSecond);
        return;
      case 'untapEdge':
        for (const job of this.#producersOf(command.jobId, command.attempt, command.edgeId))
          job.untapEdge(command.edgeId);
        return;
      case 'profileCpu':
        void this.#profileCpu(command.profileId, command.durationMs);
        return;
      case 'releasePartitions':
        this.partitions.release(command.jobId);
        return;
      case 'reregister':
        return;
    }
  }

  /**
   * Profiles every job process here at once for `durationMs` and reports
   * the flame tree (one child per job process) as profile `profileId`; a
   * command sent again (after a reconnect) does not profile twice.
   */
  async #profileCpu(profileId: string, durationMs: number): Promise<void> {
    if (this.#profiles.has(profileId)) return;
    this.#profiles.add(profileId);
    if (this.#profiles.size > 100) this.#profiles.delete(this.#profiles.values().next().value!);
    const jobs = [...this.#running.values()].flatMap((r) => (r.job === undefined ? [] : [r.job]));
    const taken = await Promise.allSettled(
      jobs.map(
        (job) =>
          job.profile(durationMs) ??
          Promise.reject(new Error('its tasks run inside the TaskManager process, not in a job process')),
      ),
    );
    const trees: FlameNodeShape[] = [];
    const errors: string[] = [];
    for (const t of taken) {
      if (t.status === 'fulfilled') trees.push(t.value);
      else errors.push(t.reason instanceof Error ? t.reason.message : String(t.reason));
    }
    if (trees.length === 0) {
      const error =
        jobs.length === 0
          ? 'This TaskManager runs no job now: there is no task process to profile'
          : `No job process could be profiled: ${errors.join('; ')}`;
      await this.#opts.reporter.profile(profileId, { error: error.slice(0, 2000) });
      return;
    }
    const total = trees.reduce((sum, t) => sum + t.total, 0);
    await this.#opts.reporter.profile(profileId, {
      tree: { name: 'TaskManager', self: 0, total, children: trees },
    });
  }

  /** The deployments of the job's `attempt` here that run a producing subtask of edge `edgeId`. */
  #producersOf(jobId: string, attempt: number, edgeId: string): ClusterJob[] {
    const out: ClusterJob[] = [];
    for (const r of this.#running.values()) {
      const d = r.deployment;
      if (d.jobId !== jobId || d.attempt !== attempt || r.job === undefined) continue;
      const source = d.jobGraph.edges.find((e) => e.id === edgeId)?.source;
      if (source !== undefined && r.subtasks.some((s) => s.vertexId === source)) out.push(r.job);
    }
    return out;
  }

  /**
   * Passes a checkpoint command to the deployments running the attempts it
   * names (with the named subtasks of each); tasks of other attempts are
   * dropped: only the current attempt takes part in checkpoints.
   */
  #route(
    jobId: string,
    tasks: readonly SubtaskAttempt[],
    apply: (job: ClusterJob, tasks: { vertexId: string; subtask: number }[]) => void,
  ): void {
    const byDeployment = new Map<Running, { vertexId: string; subtask: number }[]>();
    for (const t of tasks) {
      for (const r of this.#running.values()) {
        if (r.deployment.jobId !== jobId || r.deployment.attempt !== t.attempt || r.job === undefined)
          continue;
        if (!r.subtasks.some((s) => s.vertexId === t.vertexId && s.subtask === t.subtask)) continue;
        let list = byDeployment.get(r);
        if (list === undefined) byDeployment.set(r, (list = []));
        list.push({ vertexId: t.vertexId, subtask: t.subtask });
      }
    }
    for (const [r, list] of byDeployment) apply(r.job!, list);
  }

  /** Cancels every deployment and waits until they have stopped and reported. */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.cancelAll('TaskManager shutting down');
    await this.#opts.reporter.flush();
  }

  /** Cancels every deployment (reports CANCELED). */
  async cancelAll(reason: string): Promise<void> {
    await Promise.all([...this.#running.values()].map((r) => this.#stop(r, reason)));
  }

  /** Cancels the job's deployments of `attempt` (those of `regions`, when given). */
  async cancel(jobId: string, attempt: number, regions?: readonly number[]): Promise<void> {
    const matching = [...this.#running.values()].filter(
      (r) =>
        r.deployment.jobId === jobId &&
        r.deployment.attempt === attempt &&
        (regions === undefined || regions.includes(r.deployment.region)),
    );
    if (matching.length === 0) return;
    this.#opts.logger.info({ jobId, attempt, regions }, 'Canceling job');
    await Promise.all(matching.map((r) => this.#stop(r, 'canceled by the JobManager')));
  }

  async #stop(r: Running, reason: string): Promise<void> {
    r.abort.abort();
    if (r.job) await r.job.cancel(reason);
    await r.done;
  }

  /** Starts this TaskManager's part of a deployment (one region of a job in one attempt). */
  deploy(d: Deployment): void {
    const { logger, reporter } = this.#opts;
    const session = this.#opts.session();
    const key = keyOf(d.jobId, d.attempt, d.region);
    const newest = this.#newest.get(regionKey(d.jobId, d.region));
    if (
      !session ||
      this.#running.has(key) ||
      this.#draining ||
      (newest !== undefined && newest > d.attempt)
    ) {
      logger.warn(
        { jobId: d.jobId, attempt: d.attempt, region: d.region, newest },
        'Ignoring a deploy command (duplicate, of a replaced attempt, not registered, or shutting down)',
      );
      return;
    }
    this.#remember(d);
    // An older attempt of this region still running here stops first; handshakes for it are refused.
    const replaced = [...this.#running.values()].filter(
      (r) =>
        r.deployment.jobId === d.jobId &&
        r.deployment.region === d.region &&
        r.deployment.attempt < d.attempt,
    );
    for (const r of replaced) void this.#stop(r, `replaced by attempt ${d.attempt}`);
    this.#opts.dataPlane.recheckParked();

    const self = session.taskManagerId;
    const n = d.slots.length;
    const subtasks = d.subtasks.filter((t) => d.slots[t.subtask % n]!.taskManagerId === self);
    // Without subtasks here it may still serve the blocking partitions the region reads.
    if (subtasks.length === 0 && !(d.partitions ?? []).some((l) => l.taskManagerId === self)) return;
    const slotIndexes = [...new Set(subtasks.map((t) => d.slots[t.subtask % n]!.slotIndex))].sort(
      (a, b) => a - b,
    );
    const report = (state: Parameters<Reporter['state']>[4], error?: ExecutionError): void => {
      for (const t of subtasks) reporter.state(d.jobId, d.attempt, t.vertexId, t.subtask, state, error);
    };
    const running: Running = {
      key,
      deployment: d,
      subtasks,
      slotIndexes,
      abort: new AbortController(),
      job: undefined,
      done: Promise.resolve(),
    };
    this.#running.set(key, running);
    logger.info(
      {
        jobId: d.jobId,
        attempt: d.attempt,
        region: d.region,
        slots: slotIndexes.length,
        subtasks: subtasks.length,
      },
      `Deploying job ${d.jobId}`,
    );
    report('SCHEDULED');
    running.done = (async () => {
      try {
        await this.#replacedStopped(replaced);
        report('DEPLOYING');
        const credentials = `${session.taskManagerId}.${session.token}`;
        const bundlePath = await fetchBundle({
          jobManagerUrl: this.#opts.jobManagerUrl,
          sha256: d.bundleSha256,
          credentials,
          dir: join(this.#opts.dataDir, 'bundles'),
          signal: running.abort.signal,
        });
        // Not planned here: each slot re-plans it in the job's sandbox and checks the plan hash there.
        const program: ProgramSpec = { bundlePath, args: d.program.args, ...planOverridesOf(d.program) };
        const restore = await this.#fetchRestore(d, subtasks, credentials, running.abort.signal);
        if (running.abort.signal.aborted) {
          report('CANCELED');
          return;
        }
        const job = this.#start(d, self, program, credentials, restore);
        running.job = job;
        job.start();
        const status = await job.done;
        logger.info(
          { jobId: d.jobId, attempt: d.attempt, region: d.region, status },
          `Job ${d.jobId} ended here ${status}`,
        );
      } catch (err) {
        const error = toExecutionError(serializeError(err));
        logger.error(
          { jobId: d.jobId, attempt: d.attempt, region: d.region, err: error.message },
          `Job ${d.jobId} failed to deploy`,
        );
        if (running.abort.signal.aborted) report('CANCELED');
        else report('FAILED', error);
      } finally {
        this.#running.delete(key);
        await reporter.flush();
        this.#opts.onStopped?.();
      }
    })();
  }

  /** The ClusterJob of a deployment, wired to the reporter and the checkpoint uploads. */
  #start(
    d: Deployment,
    self: string,
    program: ProgramSpec,
    credentials: string,
    restore: SlotRestore | undefined,
  ): ClusterJob {
    const { reporter, logger } = this.#opts;
    const target = (vertexId: string, subtask: number): TransferTarget => ({
      jobManagerUrl: this.#opts.jobManagerUrl,
      credentials,
      jobId: d.jobId,
      attempt: d.attempt,
      vertexId,
      subtask,
    });
    const uploadFailed =
      (vertexId: string, subtask: number, checkpointId: number | 'final') => (err: unknown) => {
        logger.warn(
          { jobId: d.jobId, attempt: d.attempt, vertexId, subtask, checkpointId, err: String(err) },
          'Uploading checkpoint state failed',
        );
        if (checkpointId !== 'final')
          reporter.declineCheckpoint(
            d.jobId,
            d.attempt,
            vertexId,
            subtask,
            checkpointId,
            `upload failed: ${String(err)}`,
          );
      };
    const job: ClusterJob = new ClusterJob({
      jobId: d.jobId,
      attempt: d.attempt,
      region: d.region,
      subtasks: d.subtasks,
      self,
      program,
      jobGraph: d.jobGraph,
      slots: d.slots,
      dataPlane: this.#opts.dataPlane,
      dataPlaneSecret: d.dataPlaneSecret,
      ...(this.#opts.launcher === undefined ? {} : { launcher: this.#opts.launcher }),
      finalCheckpoints: d.finalCheckpoints === true,
      ...(restore === undefined ? {} : { restore }),
      ...(d.blockingExchanges === true
        ? { blockingExchanges: true, partitions: this.partitions, partitionLocations: d.partitions ?? [] }
        : {}),
      listener: {
        onStates: (updates) => {
          for (const u of updates) {
            // Only the states a reader looks for, as records naming the subtask (the dashboard links them).
            if (u.state === 'FAILED')
              logger.warn(
                {
                  jobId: d.jobId,
                  attempt: d.attempt,
                  vertexId: u.vertexId,
                  subtask: u.subtask,
                  state: u.state,
                  err: u.error?.message,
                },
                `Subtask ${u.vertexId} #${u.subtask} FAILED${u.error ? `: ${u.error.message.split('\n')[0]}` : ''}`,
              );
            else if (u.state === 'RUNNING' || u.state === 'FINISHED' || u.state === 'CANCELED')
              logger.info(
                {
                  jobId: d.jobId,
                  attempt: d.attempt,
                  vertexId: u.vertexId,
                  subtask: u.subtask,
                  state: u.state,
                },
                `Subtask ${u.vertexId} #${u.subtask} ${u.state}`,
              );
            reporter.state(
              d.jobId,
              d.attempt,
              u.vertexId,
              u.subtask,
              u.state,
              u.error ? toExecutionError(u.error) : undefined,
            );
          }
        },
        onMetrics: (metrics) => {
          for (const m of metrics) reporter.metrics(d.jobId, d.attempt, m);
        },
        onCollected: (id, values) => {
          reporter.collected(d.jobId, d.attempt, id, values);
        },
        onPeerLost: (peerId, error) => {
          reporter.lostPeer(d.jobId, d.attempt, peerId, error.message);
        },
        onCheckpoint: (s) => {
          const handedAt = Date.now();
          uploadCheckpointState(target(s.vertexId, s.subtask), s.checkpointId, s.state, {
            alignmentMs: s.alignmentMs,
            syncMs: s.syncMs,
            // Packing after the barrier (an asynchronous snapshot) and handing it over.
            asyncMs: (s.encodeMs ?? 0) + Date.now() - handedAt,
            pieces: s.pieces,
          }).catch(uploadFailed(s.vertexId, s.subtask, s.checkpointId));
        },
        onFinalState: (s) => {
          uploadCheckpointState(target(s.vertexId, s.subtask), 'final', s.state, {
            alignmentMs: 0,
            syncMs: s.syncMs,
            asyncMs: 0,
            afterCheckpointId: s.afterCheckpointId,
          }).catch(uploadFailed(s.vertexId, s.subtask, 'final'));
        },
        onDeclineCheckpoint: (vertexId, subtask, checkpointId, reason) => {
          reporter.declineCheckpoint(d.jobId, d.attempt, vertexId, subtask, checkpointId, reason);
        },
        onTapSamples: (edgeId, samples) => {
          void reporter.tapSamples(d.jobId, d.attempt, edgeId, samples).then((wanted) => {
            if (!wanted) job.untapEdge(edgeId);
          });
        },
        onAlignment: (reports) => {
          void reporter.watermarks(d.jobId, d.attempt, reports).then((announcements) => {
            job.allowWatermarks(announcements);
          });
        },
      },
    });
    return job;
  }

  /** The encoded state this TaskManager's subtasks of `d` restore from, fetched from the JobManager. */
  async #fetchRestore(
    d: Deployment,
    subtasks: readonly { vertexId: string; subtask: number }[],
    credentials: string,
    signal: AbortSignal,
  ): Promise<SlotRestore | undefined> {
    const r = d.restore;
    if (r === undefined) return undefined;
    const out: SlotRestore = { checkpointId: r.checkpointId, subtasks: {} };
    await Promise.all(
      subtasks.map(async (t) => {
        const key = `${t.vertexId}#${t.subtask}`;
        const spec = r.subtasks[key];
        if (spec === undefined) return;
        const target = {
          jobManagerUrl: this.#opts.jobManagerUrl,
          credentials,
          jobId: d.jobId,
          attempt: d.attempt,
          vertexId: t.vertexId,
          subtask: t.subtask,
        };
        // Several parts: a restore at another parallelism (every former subtask whose key groups overlap).
        const states =
          spec.parts === undefined
            ? [await fetchCheckpointState(target, r.checkpointId, signal)]
            : await Promise.all(
                Array.from({ length: spec.parts }, (_, part) =>
                  fetchCheckpointState(target, r.checkpointId, signal, part),
                ),
              );
        out.subtasks[key] = { states, final: spec.final };
      }),
    );
    return out;
  }

  /** Waits for replaced deployments to stop, at most the replace timeout. */
  async #replacedStopped(replaced: readonly Running[]): Promise<void> {
    if (replaced.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(replaced.map((r) => r.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#opts.replaceTimeoutMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Records `d` as the newest attempt of its region here, forgetting the oldest regions beyond the limit. */
  #remember(d: Deployment): void {
    const key = regionKey(d.jobId, d.region);
    this.#newest.delete(key);
    this.#newest.set(key, d.attempt);
    while (this.#newest.size > REMEMBERED_REGIONS) {
      const oldest = this.#newest.keys().next().value;
      if (oldest === undefined) break;
      this.#newest.delete(oldest);
    }
  }
}
