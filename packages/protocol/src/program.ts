/**
 * The settings a job is planned with besides its program: the plan
 * overrides. Declared once here and used wherever they travel — `jobs.plan`
 * and `jobs.submit` (tRPC input), the Deployment a TaskManager re-plans from,
 * the plan sandbox, the runtime's `ProgramSpec`, the CLI's flags and (as
 * router types) the dashboard.
 */
import { z } from 'zod';
import { JobGraphSchema } from './jobgraph.js';

/**
 * Settings that win over what the program sets on its environment
 * (`--parallelism`, `--max-parallelism`, `--mode`). Absent = the program's
 * own. Planning must be deterministic, so every party re-plans with exactly
 * these and arrives at the same plan hash.
 */
export const PlanOverridesSchema = z.object({
  /** The job's default parallelism (operators with their own `setParallelism` keep it). */
  parallelism: z.int().min(1).max(4096).optional(),
  /** The job's number of key groups. */
  maxParallelism: z.int().min(1).max(32_768).optional(),
  /** The runtime mode. */
  runtimeMode: JobGraphSchema.shape.runtimeMode.optional(),
});
/** @see {@link PlanOverridesSchema} */
export type PlanOverrides = z.infer<typeof PlanOverridesSchema>;

/** A program's invocation: its arguments and the {@link PlanOverrides} it is planned with. */
export const ProgramInvocationSchema = PlanOverridesSchema.extend({
  /** Arguments passed to the program's default export. */
  args: z.array(z.string()),
});
/** @see {@link ProgramInvocationSchema} */
export type ProgramInvocation = z.infer<typeof ProgramInvocationSchema>;

/**
 * The plan overrides of `from` (anything that has them, e.g. a tRPC input,
 * a Deployment's program or parsed flags), without its other fields and
 * without the absent ones, so equal overrides give equal objects.
 */
export function planOverridesOf(from: PlanOverrides): PlanOverrides {
  const overrides: PlanOverrides = {};
  if (from.parallelism !== undefined) overrides.parallelism = from.parallelism;
  if (from.maxParallelism !== undefined) overrides.maxParallelism = from.maxParallelism;
  if (from.runtimeMode !== undefined) overrides.runtimeMode = from.runtimeMode;
  return overrides;
}
