import { z } from 'zod';
import { JOBMANAGER_LOG, router, viewerProcedure } from '../trpc.js';
import type { ClusterOverview } from '../cluster/registry.js';

/** `cluster.*`: the cluster at a glance. */
export const clusterRouter = router({
  /** TaskManager and slot counts, job counts by status, and facts about this JobManager. */
  overview: viewerProcedure.query(({ ctx }) => ctx.registry.overview()),

  /**
   * The JobManager's newest log lines after seq `after` (poll with the
   * previous `latestSeq`), oldest first; it keeps the last 1000 in memory.
   */
  log: viewerProcedure
    .input(
      z
        .object({ after: z.int().min(0).default(0), limit: z.int().min(1).max(1000).default(1000) })
        .default({ after: 0, limit: 1000 }),
    )
    .query(({ ctx, input }) => ctx.jobManagerLog.read(JOBMANAGER_LOG, input.after, input.limit)),

  /**
   * Streams the overview over SSE: once on subscribe, then after every change
   * (registrations, status changes, slot usage). Bursts collapse into one update.
   */
  onUpdate: viewerProcedure.subscription(async function* ({ ctx, signal }): AsyncGenerator<ClusterOverview> {
    const { changes } = ctx.registry;
    let seen = changes.version;
    yield await ctx.registry.overview();
    while (await changes.next(seen, signal)) {
      seen = changes.version;
      yield await ctx.registry.overview();
    }
  }),
});
