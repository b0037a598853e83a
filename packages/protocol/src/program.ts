/**
 * The settings a job is planned with besides its program: the plan
 * overrides. Declared once here (their type is `@freshet/graph`'s
 * `PlanOverrides`, checked at compile time) and used wherever they travel —
 * the Deployment a TaskManager re-plans from and, as the cluster gains
 * them, `jobs.plan`/`jobs.submit` inputs and the CLI's flags.
 */
import { z } from 'zod';
import type { PlanOverrides } from '@freshet/graph';
import { CheckpointingSpecSchema, RestartStrategySpecSchema, RuntimeModeSchema } from './jobgraph.js';
import type { Assert, Same } from './same-type.js';

export { planOverridesOf, type PlanOverrides } from '@freshet/graph';

/**
 * Settings that win over what the program sets on its environment
 * (`--parallelism`, `--max-parallelism`, `--mode`, `--checkpoint-interval`,
 * `--restart-strategy`). Absent = the program's own. Planning must be
 * deterministic, so every party re-plans with exactly these and arrives at
 * the same plan hash.
 */
export const PlanOverridesSchema = z.object({
  /** The job's default parallelism (operators with their own `setParallelism` keep it). */
  parallelism: z.int().min(1).max(4096).optional(),
  /** The job's number of key groups. */
  maxParallelism: z.int().min(1).max(32_768).optional(),
  /** The runtime mode. */
  runtimeMode: RuntimeModeSchema.optional(),
  /** Fields replacing the program's checkpointing; `intervalMs: 0` disables checkpointing. */
  checkpointing: CheckpointingSpecSchema.extend({ intervalMs: z.int().nonnegative() }).partial().optional(),
  /** Replaces the program's restart strategy. */
  restartStrategy: RestartStrategySpecSchema.optional(),
});

/** A program's invocation: its arguments and the {@link PlanOverrides} it is planned with. */
export const ProgramInvocationSchema = PlanOverridesSchema.extend({
  /** Arguments passed to the program's default export. */
  args: z.array(z.string()),
});
/** @see {@link ProgramInvocationSchema} */
export type ProgramInvocation = z.infer<typeof ProgramInvocationSchema>;

// The schema infers exactly the type @freshet/graph declares (a compile error here means they drifted).
type _OverridesMatchGraphType = Assert<Same<z.infer<typeof PlanOverridesSchema>, PlanOverrides>>;
