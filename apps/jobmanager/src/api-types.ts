// The `@freshet/jobmanager/router` entry point: types only, so a client (the
// dashboard, the TaskManager) can type its tRPC client without bundling the
// JobManager.
export type * from './router.js';
