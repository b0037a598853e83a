/**
 * The settings a job is planned with besides its program: the plan
 * overrides, declared once. They travel with `jobs.plan` / `jobs.submit`, in
 * the Deployment a TaskManager re-plans from, to the plan sandbox and in the
 * runtime's `ProgramSpec`; `@freshet/protocol` validates them with a zod
 * schema asserted to infer exactly these types.
 */
import type { RuntimeMode } from './stream-graph.js';

/**
 * Settings that win over what the program sets on its environment
 * (`--parallelism`, `--max-parallelism`, `--mode`). Absent = the program's
 * own. Planning must be deterministic, so every party re-plans with exactly
 * these and arrives at the same plan hash.
 */
export type PlanOverrides = {
  /** The job's default parallelism (operators with their own `setParallelism` keep it). */
  parallelism?: number;
  /** The job's number of key groups. */
  maxParallelism?: number;
  /** The runtime mode. */
  runtimeMode?: RuntimeMode;
};

/** A program's invocation: the arguments of its default export and the {@link PlanOverrides} it is planned with. */
export type ProgramInvocation = PlanOverrides & {
  /** Arguments passed to the program's default export. */
  args: string[];
};

/**
 * The plan overrides of `from` (anything that has them: a tRPC input, a
 * Deployment's program, parsed flags), without its other fields and without
 * the absent ones, so equal overrides give equal objects.
 */
export function planOverridesOf(from: PlanOverrides): PlanOverrides {
  const overrides: PlanOverrides = {};
  if (from.parallelism !== undefined) overrides.parallelism = from.parallelism;
  if (from.maxParallelism !== undefined) overrides.maxParallelism = from.maxParallelism;
  if (from.runtimeMode !== undefined) overrides.runtimeMode = from.runtimeMode;
  return overrides;
}
