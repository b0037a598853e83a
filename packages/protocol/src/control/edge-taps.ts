import { z } from 'zod';
import { TaskManagerSessionSchema } from './taskmanager.js';
import { RelayedTextSchema, StoredTextSchema } from './text.js';

/**
 * Edge taps on the control plane: the JobManager tells the TaskManagers
 * that run the producing subtasks of an edge to sample what crosses it
 * (`tapEdge`, renewed while the dashboard watches, ended by its time to live
 * or `untapEdge`), and they send the samples back with
 * `executions.reportTapSamples`.
 */

/** Longest time to live of a tap: a viewer that stops polling stops costing anything within it. */
export const MAX_TAP_TTL_MS = 60_000;
/** Most records a tap takes per second and producing subtask. */
export const MAX_TAP_RATE = 100;
/** Characters of one sampled record's preview on the wire (the runtime cuts at 2048). */
export const MAX_TAP_PREVIEW_CHARS = 4096;
/** Samples of one `executions.reportTapSamples` call. */
export const MAX_TAP_SAMPLES_PER_REPORT = 1000;

const JobIdSchema = StoredTextSchema.min(1).max(100);
/** A JobGraph edge id (`e<source>-<target>[-<side output>]`). */
export const EdgeIdSchema = StoredTextSchema.min(1).max(300);

/** Command: sample what the subtasks of `attempt` here write into `edgeId`, for `ttlMs` (a repeat renews it). */
export const TapEdgeCommandSchema = z.object({
  type: z.literal('tapEdge'),
  jobId: JobIdSchema,
  attempt: z.int().nonnegative(),
  edgeId: EdgeIdSchema,
  ttlMs: z.int().min(1).max(MAX_TAP_TTL_MS),
  maxPerSecond: z.int().min(1).max(MAX_TAP_RATE),
});

/** Command: stop sampling `edgeId` of the job's `attempt`. */
export const UntapEdgeCommandSchema = z.object({
  type: z.literal('untapEdge'),
  jobId: JobIdSchema,
  attempt: z.int().nonnegative(),
  edgeId: EdgeIdSchema,
});

/** One sampled record of a tapped edge. */
export const TapSampleSchema = z.object({
  /** The producing vertex (the edge's source). */
  vertexId: StoredTextSchema.min(1).max(200),
  subtask: z.int().nonnegative(),
  /** Event timestamp (epoch ms); null when the record has none. */
  timestamp: z.number().nullable(),
  /** The record as (bounded) JSON text. */
  preview: RelayedTextSchema.pipe(z.string().max(MAX_TAP_PREVIEW_CHARS)),
  /** Whether the preview left something out. */
  truncated: z.boolean(),
});
/** @see {@link TapSampleSchema} */
export type TapSampleReport = z.infer<typeof TapSampleSchema>;

/** Input of `executions.reportTapSamples`. */
export const ReportTapSamplesInputSchema = TaskManagerSessionSchema.extend({
  jobId: JobIdSchema,
  attempt: z.int().nonnegative(),
  edgeId: EdgeIdSchema,
  samples: z.array(TapSampleSchema).max(MAX_TAP_SAMPLES_PER_REPORT),
});
/** @see {@link ReportTapSamplesInputSchema} */
export type ReportTapSamplesInput = z.infer<typeof ReportTapSamplesInputSchema>;

/**
 * Output of `executions.reportTapSamples`: samples kept, and whether the
 * tap is still wanted (false: nobody watches, or the subtasks are not the
 * current ones; the TaskManager stops it).
 */
export const ReportTapSamplesOutputSchema = z.object({
  accepted: z.int().nonnegative(),
  wanted: z.boolean(),
});
/** @see {@link ReportTapSamplesOutputSchema} */
export type ReportTapSamplesOutput = z.infer<typeof ReportTapSamplesOutputSchema>;
