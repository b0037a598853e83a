import { z } from 'zod';
import { TaskManagerByIdInputSchema } from '@freshet/protocol';
import type { OutputPage } from '../output/tail.js';
import type { HealthPoint, TaskManagerInfo } from '../cluster/registry.js';
import type { TaskManagerSubtask } from '../jobs/service.js';
import { router, viewerProcedure } from '../trpc.js';
import { controlPlane } from './control-plane.js';

/** `taskManagers.get`: the TaskManager, what runs on it, and its recent health. */
export interface TaskManagerDetails extends TaskManagerInfo {
  /** Subtasks deployed to it that have not ended. */
  subtasks: TaskManagerSubtask[];
  /** Heartbeat health of the last five minutes, oldest first (`t` is epoch ms). */
  healthHistory: HealthPoint[];
}

/** `taskManagers.*`: what the dashboard reads, and the TaskManagers' control plane. */
export const taskManagersRouter = router({
  /** Every TaskManager ever registered, newest first, whatever its status. */
  list: viewerProcedure.query(({ ctx }) => ctx.registry.list()),

  /** One TaskManager by id with its running subtasks and health history; NOT_FOUND for an unknown id. */
  get: viewerProcedure
    .input(TaskManagerByIdInputSchema)
    .query(async ({ ctx, input }): Promise<TaskManagerDetails> => {
      const info = await ctx.registry.get(input.id);
      return {
        ...info,
        subtasks: ctx.jobs.subtasksOn(input.id),
        healthHistory: ctx.registry.healthHistory(input.id),
      };
    }),

  /**
   * The newest lines of a TaskManager's stdout and stderr (`print()` sinks
   * write there) or of its log, after seq `after` (poll with the previous
   * `latestSeq`), oldest first; the JobManager keeps the last 1000 of each
   * in memory. NOT_FOUND for an unknown TaskManager.
   */
  output: viewerProcedure
    .input(
      TaskManagerByIdInputSchema.extend({
        stream: z.enum(['stdout', 'log']),
        after: z.int().min(0).default(0),
        limit: z.int().min(1).max(1000).default(1000),
      }),
    )
    .query(async ({ ctx, input }): Promise<OutputPage & { taskManagerId: string }> => {
      await ctx.registry.get(input.id);
      return {
        taskManagerId: input.id,
        ...ctx.taskManagerOutput.read(`${input.id}:${input.stream}`, input.after, input.limit),
      };
    }),

  /**
   * The control plane (`@freshet/protocol/control-plane`): `register`,
   * `heartbeat`, `deregister`, and `commands` — the TaskManager's commands
   * over SSE, numbered so a reconnect with `lastEventId` misses none.
   */
  ...controlPlane.taskManagers,
});
