import { router, viewerProcedure } from '../trpc.js';
import type { ClusterOverview } from '../cluster/registry.js';

/** `cluster.*`: the cluster at a glance. */
export const clusterRouter = router({
  /** TaskManager and slot counts, job counts by status, and facts about this JobManager. */
  overview: viewerProcedure.query(({ ctx }) => ctx.registry.overview()),

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
