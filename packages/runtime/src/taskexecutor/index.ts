export * from './spawn.js';
export * from './cluster-job.js';
export type * from './messages.js';
