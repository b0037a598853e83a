import {
  ReportCollectedInputSchema,
  ReportMetricsInputSchema,
  ReportStatesInputSchema,
} from '@freshet/protocol';
import { router, taskManagerProcedure } from '../trpc.js';

/** `executions.*`: what TaskManagers report about their subtasks (session-authenticated). */
export const executionsRouter = router({
  /** State transitions of subtasks; updates for unknown or foreign subtasks are ignored and counted. */
  reportStates: taskManagerProcedure
    .input(ReportStatesInputSchema)
    .mutation(({ ctx, input }) => ctx.jobs.reportStates(input)),

  /** Metrics samples (cumulative counters, ratios since the previous sample). */
  reportMetrics: taskManagerProcedure
    .input(ReportMetricsInputSchema)
    .mutation(({ ctx, input }) => ctx.jobs.reportMetrics(input)),

  /** Records of `collect` sinks; the first 10,000 per collect id are kept. */
  reportCollected: taskManagerProcedure
    .input(ReportCollectedInputSchema)
    .mutation(({ ctx, input }) => ctx.jobs.reportCollected(input)),
});
