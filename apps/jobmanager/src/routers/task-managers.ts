import {
  DeregisterInputSchema,
  HeartbeatInputSchema,
  RegisterTaskManagerInputSchema,
  TaskManagerByIdInputSchema,
} from '@freshet/protocol';
import { publicProcedure, router } from '../trpc.js';

/** `taskManagers.*`: what the dashboard reads, and the TaskManagers' control plane. */
export const taskManagersRouter = router({
  /** Every TaskManager ever registered, newest first, whatever its status. */
  list: publicProcedure.query(({ ctx }) => ctx.registry.list()),

  /** One TaskManager by id; NOT_FOUND for an unknown id. */
  get: publicProcedure
    .input(TaskManagerByIdInputSchema)
    .query(({ ctx, input }) => ctx.registry.get(input.id)),

  /** Control plane: a TaskManager joins and gets its id, session token and heartbeat interval. */
  register: publicProcedure
    .input(RegisterTaskManagerInputSchema)
    .mutation(({ ctx, input }) => ctx.registry.register(input)),

  /** Control plane: liveness and health; `reregister` when the session is unknown, UNAUTHORIZED on a bad token. */
  heartbeat: publicProcedure
    .input(HeartbeatInputSchema)
    .mutation(({ ctx, input }) => ctx.registry.heartbeat(input)),

  /** Control plane: a clean shutdown. */
  deregister: publicProcedure
    .input(DeregisterInputSchema)
    .mutation(({ ctx, input }) => ctx.registry.deregister(input)),
});
