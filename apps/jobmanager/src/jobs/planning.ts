/**
 * `jobs.plan`: an artifact's bundle runs in plan mode in an isolated child
 * process (time and memory limits, empty environment; never in the
 * JobManager's own process), then the optimizer turns its StreamGraph into a
 * JobGraph.
 */
import { InvalidProgramError } from '@freshet/errors';
import { z } from 'zod';
import { optimize, planInSandbox } from '@freshet/planner';
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
): Promise<PlannedJob> {
  let plan;
  try {
    plan = await planInSandbox(bundlePath, args, overrides, { timeoutMs });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InvalidProgramError(`Planning ${fileName} failed: ${message}`, { cause: err });
  }
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
