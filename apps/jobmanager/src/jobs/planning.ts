/**
 * `jobs.plan`: an artifact's bundle runs in plan mode in an isolated child
 * process (time and memory limits, empty environment; never in the
 * JobManager's own process), then the optimizer turns its StreamGraph into a
 * JobGraph.
 */
import { InvalidInputError, InvalidProgramError } from '@freshet/errors';
import { z } from 'zod';
import { optimize, PlanError, planInSandbox, type PlanSandboxOptions } from '@freshet/planner';
import type { WorkQueue } from '../limits/work-queue.js';
import {
  PlanOverridesSchema,
  Sha256Schema,
  StoredTextSchema,
  type JobGraph,
  type PlanOverrides,
} from '@freshet/protocol';

/** The StreamGraph as plan mode returns it (functions dropped). */
export type StreamGraphJson = Awaited<ReturnType<typeof planInSandbox>>['graph'];

/** Input of `jobs.plan`: a stored program, its arguments and the plan overrides. */
export const PlanJobInputSchema = PlanOverridesSchema.extend({
  artifactId: Sha256Schema,
  args: z.array(StoredTextSchema.max(100_000)).max(1000).default([]),
});
/** @see {@link PlanJobInputSchema} */
export type PlanJobInput = z.input<typeof PlanJobInputSchema>;

/** Output of `jobs.plan`. */
export interface PlannedJob {
  streamGraph: StreamGraphJson;
  jobGraph: JobGraph;
  planHash: string;
}

/** Options of {@link ProgramPlanner}. */
export interface ProgramPlannerOptions {
  /** Time limit of plan mode. */
  timeoutMs: number;
  /** Highest parallelism a vertex may have (`--max-job-parallelism`). */
  maxJobParallelism: number;
  /** Bounds how many sandboxes run at once and how many plans wait (429 beyond). */
  queue: WorkQueue;
  /** How the sandbox isolates the program (directories to hide from it). */
  sandbox?: PlanSandboxOptions;
}

/**
 * Plans programs for `jobs.plan` and `jobs.submit`: at most so many
 * sandboxes at a time, and no job above the parallelism limit.
 */
export class ProgramPlanner {
  readonly #opts: ProgramPlannerOptions;

  constructor(opts: ProgramPlannerOptions) {
    this.#opts = opts;
  }

  /**
   * Plans a bundle in the sandbox and optimizes it.
   *
   * @throws InvalidInputError for a parallelism override above the limit (before any sandbox starts)
   * @throws InvalidProgramError for a program that fails to plan, or plans a vertex above the limit
   * @throws TooManyRequestsError when the plan queue is full
   */
  async plan(
    bundlePath: string,
    fileName: string,
    args: string[],
    overrides: PlanOverrides,
  ): Promise<PlannedJob> {
    const max = this.#opts.maxJobParallelism;
    const limit = `the JobManager's limit is ${max} (--max-job-parallelism, FRESHET_MAX_JOB_PARALLELISM)`;
    if (overrides.parallelism !== undefined && overrides.parallelism > max) {
      throw new InvalidInputError(`Parallelism ${overrides.parallelism} is too high: ${limit}`, {
        details: { parallelism: overrides.parallelism, limit: max },
      });
    }
    return this.#opts.queue.run(() =>
      planBundle(bundlePath, fileName, args, overrides, this.#opts.timeoutMs, this.#opts.sandbox, (graph) => {
        // Checked on the StreamGraph, before the optimizer builds anything that large.
        for (const node of graph.nodes) {
          const parallelism = node.parallelism ?? graph.config.parallelism;
          if (parallelism > max) {
            throw new InvalidProgramError(
              `${fileName} plans operator '${node.name}' with parallelism ${parallelism}: ${limit}`,
              { details: { parallelism, limit: max } },
            );
          }
        }
      }),
    );
  }
}

/**
 * Plans a bundle in the sandbox and optimizes it. Every failure of the
 * program (timeout, memory, exception, crash, invalid graph) is an
 * {@link InvalidProgramError} whose message says what happened.
 */
export async function planBundle(
  bundlePath: string,
  fileName: string,
  args: string[],
  overrides: PlanOverrides,
  timeoutMs: number,
  sandbox?: PlanSandboxOptions,
  check?: (graph: StreamGraphJson) => void,
): Promise<PlannedJob> {
  let plan;
  try {
    plan = await planInSandbox(bundlePath, args, overrides, { timeoutMs, ...sandbox });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // A PlanError says itself what went wrong while planning, in the words `freshet run --local` uses.
    if (err instanceof PlanError) throw new InvalidProgramError(message, { cause: err });
    throw new InvalidProgramError(`Planning ${fileName} failed: ${message}`, { cause: err });
  }
  check?.(plan.graph);
  try {
    return {
      streamGraph: plan.graph,
      jobGraph: optimize(plan.graph, plan.planHash),
      planHash: plan.planHash,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InvalidProgramError(`Optimizing ${fileName} failed: ${message}`, { cause: err });
  }
}
