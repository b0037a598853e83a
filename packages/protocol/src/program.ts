/**
 * zod schemas of the plan overrides and a program's invocation, validated
 * where they cross a boundary: `jobs.plan` / `jobs.submit`'s input and the
 * Deployment a TaskManager re-plans from. The types are declared once, in
 * `@freshet/graph`; each schema is checked at compile time to infer exactly
 * that type.
 */
import { z } from 'zod';
import type { PlanOverrides, ProgramInvocation } from '@freshet/graph';
import {
  CheckpointingSpecSchema,
  RestartStrategySpecSchema,
  RuntimeModeSchema,
  StateBackendKindSchema,
} from './jobgraph.js';
import type { Assert, Same } from './same-type.js';

export { planOverridesOf, type PlanOverrides, type ProgramInvocation } from '@freshet/graph';

/**
 * @see {@link PlanOverrides} (the limits are the JobManager's). Absent =
 * the program's own; `checkpointing.intervalMs: 0` disables checkpointing.
 */
export const PlanOverridesSchema = z.object({
  parallelism: z.int().min(1).max(4096).optional(),
  maxParallelism: z.int().min(1).max(32_768).optional(),
  runtimeMode: RuntimeModeSchema.optional(),
  checkpointing: CheckpointingSpecSchema.extend({ intervalMs: z.int().nonnegative() }).partial().optional(),
  restartStrategy: RestartStrategySpecSchema.optional(),
  stateBackend: StateBackendKindSchema.optional(),
});

/** @see {@link ProgramInvocation} */
export const ProgramInvocationSchema = PlanOverridesSchema.extend({
  args: z.array(z.string()),
});

type _SchemasMatchGraphTypes = [
  Assert<Same<z.infer<typeof PlanOverridesSchema>, PlanOverrides>>,
  Assert<Same<z.infer<typeof ProgramInvocationSchema>, ProgramInvocation>>,
];
