import { join } from 'node:path';
import { defineErrorClass, InvalidProgramError } from '@freshet/errors';
import {
  planOverridesOf,
  type Deployment,
  type ExecutionError,
  type RegisterTaskManagerOutput,
  type TaskManagerCommand,
} from '@freshet/protocol';
import { planOverridesOf } from '@freshet/protocol';
import {
  ClusterJob,
  computePlanHash,
  loadStreamGraph,
  serializeError,
  type DataPlane,
  type ProgramSpec,
  type SerializedError,
} from '@freshet/runtime';
import { fetchBundle } from './bundles.js';
import type { Logger } from './logger.js';
import type { Reporter } from './reporter.js';

/** The program planned to another JobGraph than the JobManager's (it is not deterministic). Code `INVALID_PROGRAM`. */
export class PlanMismatchError extends InvalidProgramError {
  static {
    defineErrorClass(this, 'PlanMismatchError', 'INVALID_PROGRAM');
  }
}

/** Options of {@link Deployments}. */
export interface DeploymentsOptions {
  jobManagerUrl: string;
  /** Bundles are cached under `<dataDir>/bundles`. */
  dataDir: string;
  dataPlane: DataPlane;
  reporter: Reporter;
  logger: Logger;
  session: () => RegisterTaskManagerOutput | undefined;
}

interface Running {
  deployment: Deployment;
  subtasks: { vertexId: string; subtask: number }[];
  slots: number;
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

/**
 * The jobs this TaskManager runs: deploys on command (fetch and verify the
 * bundle, re-plan and check the plan hash, start the slots), cancels, and
 * reports every subtask state transition.
 */
export class Deployments {
  readonly #opts: DeploymentsOptions;
  readonly #jobs = new Map<string, Running>();
  #draining = false;

  constructor(opts: DeploymentsOptions) {
    this.#opts = opts;
  }

  /** Slots running subtasks now. */
  get slotsUsed(): number {
    let n = 0;
    for (const r of this.#jobs.values()) n += r.slots;
    return n;
  }

  /** Handles a deploy or cancel command. */
  handle(command: TaskManagerCommand): void {
    if (command.type === 'deploy') this.deploy(command.deployment);
    else if (command.type === 'cancel') void this.cancel(command.jobId, command.attempt);
  }

  /** Cancels every job and waits until they have stopped and reported. */
  async drain(): Promise<void> {
    this.#draining = true;
    await Promise.all(
      [...this.#jobs.values()].map((r) => this.cancel(r.deployment.jobId, r.deployment.attempt)),
    );
    await this.#opts.reporter.flush();
  }

  /** Cancels one job attempt (reports CANCELED). */
  async cancel(jobId: string, attempt: number): Promise<void> {
    const r = this.#jobs.get(`${jobId}#${attempt}`);
    if (!r) return;
    this.#opts.logger.info({ jobId, attempt }, 'Canceling job');
    r.abort.abort();
    if (r.job) await r.job.cancel('canceled by the JobManager');
    await r.done;
  }

  /** Starts this TaskManager's part of a deployment. */
  deploy(d: Deployment): void {
    const { logger, reporter } = this.#opts;
    const session = this.#opts.session();
    const key = `${d.jobId}#${d.attempt}`;
    if (!session || this.#jobs.has(key) || this.#draining) {
      logger.warn(
        { jobId: d.jobId, attempt: d.attempt },
        'Ignoring a deploy command (duplicate, not registered, or shutting down)',
      );
      return;
    }
    const self = session.taskManagerId;
    const n = d.slots.length;
    const subtasks: Running['subtasks'] = [];
    for (const v of d.jobGraph.vertices) {
      for (let s = 0; s < v.parallelism; s++)
        if (d.slots[s % n]!.taskManagerId === self) subtasks.push({ vertexId: v.id, subtask: s });
    }
    const slots = d.slots.filter((s) => s.taskManagerId === self).length;
    const report = (
      state: Parameters<Reporter['state']>[4],
      only?: Set<string>,
      error?: ExecutionError,
    ): void => {
      for (const t of subtasks)
        if (!only || only.has(`${t.vertexId}#${t.subtask}`))
          reporter.state(d.jobId, d.attempt, t.vertexId, t.subtask, state, error);
    };
    const running: Running = {
      deployment: d,
      subtasks,
      slots,
      abort: new AbortController(),
      job: undefined,
      done: Promise.resolve(),
    };
    this.#jobs.set(key, running);
    logger.info(
      { jobId: d.jobId, attempt: d.attempt, slots, subtasks: subtasks.length },
      `Deploying job ${d.jobId}`,
    );
    report('SCHEDULED');
    running.done = (async () => {
      try {
        report('DEPLOYING');
        const bundlePath = await fetchBundle({
          jobManagerUrl: this.#opts.jobManagerUrl,
          sha256: d.bundleSha256,
          credentials: `${session.taskManagerId}.${session.token}`,
          dir: join(this.#opts.dataDir, 'bundles'),
          signal: running.abort.signal,
        });
        const program: ProgramSpec = { bundlePath, args: d.program.args, ...planOverridesOf(d.program) };
        const hash = computePlanHash(await loadStreamGraph(program));
        if (hash !== d.jobGraph.planHash) {
          throw new PlanMismatchError(
            `The program planned to ${hash.slice(0, 12)}… on TaskManager ${self} but the JobManager planned ${d.jobGraph.planHash.slice(0, 12)}…; planning must be deterministic (no randomness, clock or environment in the plan)`,
          );
        }
        if (running.abort.signal.aborted) {
          report('CANCELED');
          return;
        }
        const job = new ClusterJob({
          jobId: d.jobId,
          attempt: d.attempt,
          self,
          program,
          jobGraph: d.jobGraph,
          slots: d.slots,
          dataPlane: this.#opts.dataPlane,
          listener: {
            onStates: (updates) => {
              for (const u of updates) {
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
          },
        });
        running.job = job;
        job.start();
        const status = await job.done;
        logger.info({ jobId: d.jobId, attempt: d.attempt, status }, `Job ${d.jobId} ended here ${status}`);
      } catch (err) {
        const error = toExecutionError(serializeError(err));
        logger.error(
          { jobId: d.jobId, attempt: d.attempt, err: error.message },
          `Job ${d.jobId} failed to deploy`,
        );
        if (running.abort.signal.aborted) report('CANCELED');
        else report('FAILED', undefined, error);
      } finally {
        this.#jobs.delete(key);
        await reporter.flush();
      }
    })();
  }
}
