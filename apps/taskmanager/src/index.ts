export { main, startTaskManager, TASKMANAGER_VERSION, type TaskManager } from './main.js';
export {
  loadTaskManagerConfig,
  TASKMANAGER_SETTINGS,
  TASKMANAGER_USAGE,
  LOG_LEVELS,
  type TaskManagerConfig,
  type TaskManagerInvocation,
} from './env.js';
export { ControlSession, RegistrationRejectedError, type ControlSessionOptions } from './session.js';
export { HealthSampler } from './health.js';
