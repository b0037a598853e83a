import { z } from 'zod';
import { MAX_PROFILE_MS, MIN_PROFILE_MS, TaskManagerIdSchema } from '@freshet/protocol';
import type { CpuProfileView } from '../profiles/cpu-profiles.js';
import { developerProcedure, router } from '../trpc.js';

const CpuProfileInputSchema = z.object({
  taskManagerId: TaskManagerIdSchema,
  /** How long to sample, 1–30 s. */
  durationMs: z.int().min(MIN_PROFILE_MS).max(MAX_PROFILE_MS).default(10_000),
});

/**
 * `profiles.*`: CPU profiles of a TaskManager's task processes, as flame
 * trees. Sampling costs the cluster CPU, so a developer may start one.
 */
export const profilesRouter = router({
  /**
   * Samples every job process of the TaskManager for `durationMs` and
   * answers once done with the flame tree. NOT_FOUND for a TaskManager not
   * connected here, CONFLICT while another profile of it runs or when it
   * runs no job.
   */
  cpu: developerProcedure
    .input(CpuProfileInputSchema)
    .mutation(({ ctx, input }): Promise<CpuProfileView> =>
      ctx.cpuProfiles.profile(input.taskManagerId, input.durationMs),
    ),
});
