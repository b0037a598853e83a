/**
 * `@freshet/api/internal`: what the host (planner, runtime) needs of the API
 * and a user program does not — running a program in plan mode and the
 * whole-graph checks. Programs cannot import it (the compiler allows only
 * `@freshet/api`).
 */
export { validateStreamGraph } from './validate.js';
export { buildStreamGraph, type PlanOverrides } from './program.js';
