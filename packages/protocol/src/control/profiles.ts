import { z } from 'zod';
import { TaskManagerSessionSchema } from './taskmanager.js';
import { RelayedTextSchema, StoredTextSchema } from './text.js';

/**
 * CPU profiles of a TaskManager's job processes on the control plane: the
 * JobManager sends `profileCpu`, the TaskManager profiles every job process
 * it runs for the time asked and answers with `taskManagers.reportProfile`
 * (a flame tree, or why it could not).
 */

/** Shortest and longest CPU profile, ms. */
export const MIN_PROFILE_MS = 1000;
export const MAX_PROFILE_MS = 30_000;
/** Frames of one reported flame tree. */
export const MAX_FLAME_NODES = 10_000;

/** One frame of a flame tree: time sampled in it (`self`) and below it (`total`), in ms. */
export interface FlameNodeShape {
  name: string;
  url?: string | undefined;
  line?: number | undefined;
  self: number;
  total: number;
  children: FlameNodeShape[];
}

/** A flame tree frame (recursive; the whole tree is bounded by {@link ReportProfileInputSchema}). */
export const FlameNodeSchema: z.ZodType<FlameNodeShape> = z.object({
  name: RelayedTextSchema.pipe(z.string().max(500)),
  url: RelayedTextSchema.pipe(z.string().max(2000)).optional(),
  line: z.int().nonnegative().optional(),
  self: z.number().nonnegative(),
  total: z.number().nonnegative(),
  get children() {
    return z.array(FlameNodeSchema).max(MAX_FLAME_NODES);
  },
});

/** Frames of a flame tree. */
export function flameNodeCount(node: FlameNodeShape): number {
  let n = 1;
  for (const c of node.children) n += flameNodeCount(c);
  return n;
}

/** Command: profile every job process here for `durationMs`, then report profile `profileId`. */
export const ProfileCpuCommandSchema = z.object({
  type: z.literal('profileCpu'),
  profileId: StoredTextSchema.min(1).max(64),
  durationMs: z.int().min(MIN_PROFILE_MS).max(MAX_PROFILE_MS),
});

/** Input of `taskManagers.reportProfile`. */
export const ReportProfileInputSchema = TaskManagerSessionSchema.extend({
  profileId: StoredTextSchema.min(1).max(64),
  tree: FlameNodeSchema.refine((t) => flameNodeCount(t) <= MAX_FLAME_NODES, {
    message: `a flame tree has at most ${MAX_FLAME_NODES} frames`,
  }).optional(),
  /** Why no profile could be taken. */
  error: RelayedTextSchema.pipe(z.string().max(2000)).optional(),
});
/** @see {@link ReportProfileInputSchema} */
export type ReportProfileInput = z.infer<typeof ReportProfileInputSchema>;

/** Output of `taskManagers.reportProfile`: whether someone waited for it. */
export const ReportProfileOutputSchema = z.object({ accepted: z.boolean() });
/** @see {@link ReportProfileOutputSchema} */
export type ReportProfileOutput = z.infer<typeof ReportProfileOutputSchema>;
