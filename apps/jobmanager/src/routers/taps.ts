import { z } from 'zod';
import { EdgeIdSchema, MAX_TAP_RATE, StoredTextSchema } from '@freshet/protocol';
import { DEFAULT_TAP_RATE, type EdgeTapView } from '../edge-taps/edge-taps.js';
import { router, viewerProcedure } from '../trpc.js';

const TapInputSchema = z.object({
  jobId: StoredTextSchema.min(1).max(100),
  edgeId: EdgeIdSchema,
});

const PollInputSchema = TapInputSchema.extend({
  /** `latestSeq` of the previous answer: only newer records come back. */
  after: z.int().min(0).default(0),
  /** Records per second and producing subtask. */
  maxPerSecond: z.int().min(1).max(MAX_TAP_RATE).default(DEFAULT_TAP_RATE),
});

/**
 * `taps.*`: live samples of the records crossing an edge of a running job
 * (the dashboard's edge panel). Records are data of the job, so a viewer
 * may see them, as with `output.tail`.
 */
export const tapsRouter = router({
  /**
   * Starts or renews the tap of an edge and returns the records sampled
   * after `after` (poll about once a second with the previous `latestSeq`;
   * a tap not polled for `ttlMs` ends). NOT_FOUND for a job that does not
   * run on this JobManager or an edge it does not have.
   */
  poll: viewerProcedure
    .input(PollInputSchema)
    .mutation(({ ctx, input }): EdgeTapView =>
      ctx.edgeTaps.poll(input.jobId, input.edgeId, input.after, input.maxPerSecond),
    ),
  /** Ends a tap at once (the panel closed). */
  stop: viewerProcedure.input(TapInputSchema).mutation(({ ctx, input }): { stopped: boolean } => ({
    stopped: ctx.edgeTaps.stop(input.jobId, input.edgeId),
  })),
});
