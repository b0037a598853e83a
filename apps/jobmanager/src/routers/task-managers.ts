import {
  DeregisterInputSchema,
  HeartbeatInputSchema,
  RegisterTaskManagerInputSchema,
  TaskManagerByIdInputSchema,
  TaskManagerSessionSchema,
  type TaskManagerCommand,
} from '@freshet/protocol';
import type { HealthPoint, TaskManagerInfo } from '../cluster/registry.js';
import type { TaskManagerSubtask } from '../jobs/service.js';
import { router, taskManagerProcedure, viewerProcedure } from '../trpc.js';

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

  /** Control plane: a TaskManager joins and gets its id, session token and heartbeat interval. */
  register: taskManagerProcedure
    .input(RegisterTaskManagerInputSchema)
    .mutation(({ ctx, input }) => ctx.registry.register(input)),

  /** Control plane: liveness and health; `reregister` when the session is unknown, UNAUTHORIZED on a bad token. */
  heartbeat: taskManagerProcedure
    .input(HeartbeatInputSchema)
    .mutation(({ ctx, input }) => ctx.registry.heartbeat(input)),

  /** Control plane: a clean shutdown. */
  deregister: taskManagerProcedure
    .input(DeregisterInputSchema)
    .mutation(({ ctx, input }) => ctx.registry.deregister(input)),

  /**
   * Control plane, over SSE: the commands for this TaskManager (`deploy`,
   * `cancel`). Subscribe right after registering. An unknown session gets
   * one `reregister` command and the stream ends; a wrong token is
   * UNAUTHORIZED. Commands pushed while the TaskManager is reconnecting wait
   * for it.
   */
  commands: taskManagerProcedure.input(TaskManagerSessionSchema).subscription(async function* ({
    ctx,
    input,
    signal,
  }): AsyncGenerator<TaskManagerCommand> {
    if (ctx.registry.checkSession(input.taskManagerId, input.token) === 'unknown') {
      yield {
        type: 'reregister',
        reason: `unknown TaskManager ${input.taskManagerId}: the JobManager restarted or declared it lost`,
      };
      return;
    }
    yield* ctx.commands.drain(input.taskManagerId, signal);
  }),
});
