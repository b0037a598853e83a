import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { StoredTextSchema } from '@freshet/protocol';
import type { MetricsSnapshot } from '../jobs/metrics.js';
import {
  notFound,
  RescaleJobInputSchema,
  SavepointInputSchema,
  StopJobInputSchema,
  SubmitJobInputSchema,
  type CollectedRecords,
} from '../jobs/service.js';
import { PlanJobInputSchema } from '../jobs/planning.js';
import { getJob, listJobs, ListJobsInputSchema, type JobDetails } from '../jobs/views.js';
import { getJobCheckpoints, JobCheckpointsInputSchema } from '../jobs/checkpoint-views.js';
import { developerProcedure, router, viewerProcedure } from '../trpc.js';

const JobIdSchema = z.object({ jobId: StoredTextSchema.min(1).max(100) });

/** Fastest `jobs.onUpdate` pushes a job (at most two a second). */
const UPDATE_INTERVAL_MS = 500;

/** `jobs.*`: plan, submit, follow and cancel jobs. */
export const jobsRouter = router({
  /** Plans an artifact in the sandbox and optimizes it, without running anything. */
  plan: developerProcedure.input(PlanJobInputSchema).mutation(({ ctx, input }) => ctx.jobs.plan(input)),

  /** Plans, persists and schedules a job; it waits for slots up to the slot request timeout. */
  submit: developerProcedure.input(SubmitJobInputSchema).mutation(({ ctx, input }) => ctx.jobs.submit(input)),

  /** Cancels a job; CONFLICT when it already ended. */
  cancel: developerProcedure.input(JobIdSchema).mutation(({ ctx, input }) => ctx.jobs.cancel(input.jobId)),

  /** Writes a savepoint of a running job into a directory under the JobManager's savepoint directory. */
  savepoint: developerProcedure
    .input(SavepointInputSchema)
    .mutation(({ ctx, input }) => ctx.jobs.savepoint(input)),

  /** Stops a job with a final savepoint (`drain`: the MAX watermark first); the job ends FINISHED. */
  stop: developerProcedure.input(StopJobInputSchema).mutation(({ ctx, input }) => ctx.jobs.stopJob(input)),

  /** Savepoint, stop, and the same program again from it at a new parallelism; returns the new job's id. */
  rescale: developerProcedure
    .input(RescaleJobInputSchema)
    .mutation(({ ctx, input }) => ctx.jobs.rescale(input)),

  /** Jobs, newest first, optionally filtered by status; running ones with their sources' rate. */
  list: viewerProcedure
    .input(ListJobsInputSchema)
    .query(({ ctx, input }) => listJobs(ctx.db, input, (id) => ctx.jobs.sourceRate(id))),

  /** A job: its JobGraph, subtasks, metrics, events, exceptions and configuration. */
  get: viewerProcedure
    .input(JobIdSchema)
    .query(({ ctx, input }) => getJob(ctx.db, ctx.registry, ctx.metrics, input.jobId)),

  /**
   * A job's checkpoints, newest first: status, trigger time, duration, size,
   * alignment; every subtask's acknowledgement (time, size, alignment,
   * sync/async time) of the latest completed one; duration p50/p99.
   */
  checkpoints: viewerProcedure
    .input(JobCheckpointsInputSchema)
    .query(({ ctx, input }) => getJobCheckpoints(ctx.db, input)),

  /** Per-vertex metrics history at one-second resolution (the last five minutes) for charts. */
  metrics: viewerProcedure.input(JobIdSchema).query(async ({ ctx, input }) => {
    if (ctx.jobs.active(input.jobId) !== undefined)
      return { jobId: input.jobId, vertices: ctx.metrics.history(input.jobId) };
    // An ended job left memory with its metrics: they are in its row.
    const row = await ctx.db.prisma.job.findUnique({ where: { id: input.jobId }, select: { metrics: true } });
    if (row === null) throw notFound(input.jobId);
    return { jobId: input.jobId, vertices: (row.metrics as MetricsSnapshot | null)?.history ?? {} };
  }),

  /**
   * Backpressure and watermarks of one vertex's subtasks: each subtask's
   * busy, backpressured and idle ratios, input watermark and its lag behind
   * the wall clock, per second over the last five minutes (empty once the
   * job left memory: its final figures are in `jobs.get`).
   */
  subtaskHistory: viewerProcedure
    .input(JobIdSchema.extend({ vertexId: StoredTextSchema.min(1).max(200) }))
    .query(async ({ ctx, input }) => {
      if (ctx.jobs.active(input.jobId) === undefined) {
        const row = await ctx.db.prisma.job.findUnique({ where: { id: input.jobId }, select: { id: true } });
        if (row === null) throw notFound(input.jobId);
      }
      return {
        jobId: input.jobId,
        vertexId: input.vertexId,
        subtasks: ctx.metrics.subtaskHistory(input.jobId, input.vertexId),
      };
    }),

  /** Records shipped by the job's `collect` sinks (the first `limit` of the job, over its collect ids). */
  collected: viewerProcedure
    .input(JobIdSchema.extend({ collectId: StoredTextSchema.min(1).max(200).optional() }))
    .query(
      async ({ ctx, input }): Promise<{ jobId: string; limit: number; collections: CollectedRecords[] }> => {
        const limit = ctx.jobs.collectLimit;
        if (ctx.jobs.active(input.jobId) !== undefined)
          return { jobId: input.jobId, limit, collections: ctx.jobs.collected(input.jobId, input.collectId) };
        // An ended job left memory with its records: they are in its row.
        const row = await ctx.db.prisma.job.findUnique({
          where: { id: input.jobId },
          select: { collected: true },
        });
        if (row === null) throw notFound(input.jobId);
        const all = (row.collected as CollectedRecords[] | null) ?? [];
        const collections =
          input.collectId === undefined ? all : all.filter((c) => c.collectId === input.collectId);
        return { jobId: input.jobId, limit, collections };
      },
    ),

  /**
   * Streams the `jobs.get` shape over SSE: once on subscribe, then after
   * every change (states, metrics, collected records), at most twice a second.
   */
  onUpdate: viewerProcedure.input(JobIdSchema).subscription(async function* ({
    ctx,
    input,
    signal,
  }): AsyncGenerator<JobDetails> {
    const changes = ctx.jobs.changesOf(input.jobId);
    let seen = changes.version;
    yield await getJob(ctx.db, ctx.registry, ctx.metrics, input.jobId);
    while (await changes.next(seen, signal)) {
      await sleep(UPDATE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted) return;
      seen = changes.version;
      yield await getJob(ctx.db, ctx.registry, ctx.metrics, input.jobId);
    }
  }),
});
