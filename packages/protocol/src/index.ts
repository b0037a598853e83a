/**
 * The contracts between Freshet's processes as zod schemas and plain data:
 * the JobGraph, the JobManager↔TaskManager control messages, and the
 * status vocabularies (job, execution, TaskManager).
 *
 * Browser-safe: it depends on zod only and uses no Node API (its tsconfig
 * has no Node types, so a `node:` import or `process` does not compile),
 * so the dashboard imports it as the processes do.
 *
 * @packageDocumentation
 */
export * from './control/index.js';
export * from './jobgraph.js';
export * from './job-status.js';
export * from './program.js';
export * from './endpoints.js';
