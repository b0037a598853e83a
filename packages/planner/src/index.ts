/**
 * `@freshet/planner`: from a program file to a JobGraph. Compile (esbuild) and
 * type-check (tsc) the program, plan it in an isolated child process, and
 * optimize the StreamGraph into a JobGraph.
 */
export { compileProgram, DEFAULT_CACHE_DIR, isProjectInput } from './compile.js';
export type {
  CompileOptions,
  CompileResult,
  CompiledProgram,
  CompileFailure,
  ProgramInput,
  ProjectInput,
} from './compile.js';
export { typecheckProgram } from './typecheck.js';
export type { TypecheckOptions } from './typecheck.js';
export { codeFrame, formatDiagnostic } from './diagnostics.js';
export type { ProgramDiagnostic } from './diagnostics.js';
export { describePlanSandbox, planInSandbox, PlanError } from './sandbox.js';
export type {
  PlanLimits,
  PlanOverrides,
  PlanResult,
  PlanFailureReason,
  PlanSandboxOptions,
} from './sandbox.js';
export type { IsolationMode } from '@freshet/runtime';
export { optimize, OptimizerError } from './optimize.js';
export { renderJobGraph, renderUidWarning } from './render.js';
