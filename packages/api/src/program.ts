/**
 * The plan entry the runtime uses: run a program on a fresh environment and
 * return its validated StreamGraph. No data flows.
 */
import { checkFunction } from './check.js';
import { StreamExecutionEnvironment, type EnvironmentOverrides } from './environment.js';
import type { StreamGraph } from '@freshet/graph';

/**
 * A Freshet program: the default export of a program module. It builds its
 * pipeline on `env`; `args` are the job's arguments. It may be async, but the
 * pipeline must be complete when its promise settles.
 */
export type Program = (env: StreamExecutionEnvironment, args: string[]) => void | Promise<void>;

/** Identity helper that gives a program its types: `export default defineProgram((env, args) => { ... })`. */
export function defineProgram(program: Program): Program {
  return program;
}

/** Settings that win over the program's own (see {@link buildStreamGraph}). */
export type PlanOverrides = EnvironmentOverrides;

/**
 * Runs `program` in plan mode and returns its StreamGraph.
 *
 * Overrides win over what the program sets: `parallelism` replaces the job's
 * default parallelism set with `env.setParallelism` (operators that call
 * `setParallelism` themselves keep their value), `maxParallelism`,
 * `runtimeMode` and `jobName` replace the program's. While the program runs,
 * the environment's getters already return the overridden values.
 *
 * Deterministic: the same program and arguments give the same graph (ids in
 * creation order). After the program returns the environment is sealed, so a
 * pipeline change from a stray callback fails loudly instead of changing the
 * plan.
 *
 * @throws ProgramDefinitionError when the pipeline is invalid; the program's own exceptions propagate unchanged
 */
export async function buildStreamGraph(
  program: Program,
  args: string[] = [],
  overrides: PlanOverrides = {},
): Promise<StreamGraph> {
  checkFunction('buildStreamGraph', program, 'a program function (env, args) => void');
  const env = new StreamExecutionEnvironment(overrides);
  await program(env, [...args]);
  env.builder.seal();
  return env.getStreamGraph();
}
