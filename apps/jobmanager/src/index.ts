export { main, startJobManager, JOBMANAGER_VERSION, type JobManager } from './main.js';
export {
  loadJobManagerConfig,
  JOBMANAGER_SETTINGS,
  JOBMANAGER_USAGE,
  LOG_LEVELS,
  type JobManagerConfig,
  type JobManagerInvocation,
} from './env.js';
export { ClusterRegistry, type ClusterOverview, type TaskManagerInfo } from './cluster/registry.js';
export type { AppRouter } from './router.js';
