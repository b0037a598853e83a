import { clusterRouter } from './routers/cluster.js';
import { taskManagersRouter } from './routers/task-managers.js';
import { router } from './trpc.js';

/** The JobManager's whole tRPC API, served at `/trpc`. */
export const appRouter = router({
  cluster: clusterRouter,
  taskManagers: taskManagersRouter,
});

/** Type of the JobManager's API, for typed clients (`@freshet/jobmanager/router`). */
export type AppRouter = typeof appRouter;

export type { ClusterOverview, TaskManagerInfo } from './cluster/registry.js';
