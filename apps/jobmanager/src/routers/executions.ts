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

  /**
   * Records of `collect` sinks: the first of the job are kept as its result
   * (`jobs.collected`), the newest in its live output (`output.tail`).
   */
  reportCollected: taskManagerProcedure.input(ReportCollectedInputSchema).mutation(({ ctx, input }) => {
    const answer = ctx.jobs.reportCollected(input);
    // After the session check in reportCollected; a stale attempt's records are not the job's output.
    if (ctx.jobs.active(input.jobId)?.attempt === input.attempt)
      ctx.output.push(input.jobId, input.collectId, input.values);
    return answer;
  }),
});
