/**
 * Test support: compile a program once, then plan and run it on the local
 * mini-cluster with given arguments, parallelism and mode.
 */
import type { RuntimeMode } from '@freshet/api';
import { compileProgram, optimize, planInSandbox } from '@freshet/planner';
import { runLocalJob, type LocalJobResult } from '@freshet/runtime';

/** A compiled program ready to run. */
export interface Compiled {
  bundlePath: string;
}

/** Compiles `path` (without type-checking: the examples are type-checked with the repository). */
export async function compile(path: string): Promise<Compiled> {
  const c = await compileProgram({ path }, { typecheck: false });
  if (!c.ok) throw new Error(`${path} does not compile: ${JSON.stringify(c.errors)}`);
  return { bundlePath: c.bundlePath };
}

/** Outcome of {@link runProgram}. */
export interface Run {
  status: string;
  collected: Record<string, unknown[]>;
  error?: unknown;
  durationMs: number;
  /** The id the job's functions saw. */
  jobId: string;
  /** The job's accumulators, merged across subtasks. */
  accumulators: LocalJobResult['accumulators'];
  /** Every subtask's final metrics (system and user). */
  subtasks: LocalJobResult['metrics']['subtasks'];
}

/** Plans, optimizes and runs a compiled program locally. */
export async function runProgram(
  program: Compiled,
  args: string[],
  parallelism: number,
  mode: 'batch' | 'streaming',
): Promise<Run> {
  const runtimeMode: RuntimeMode = mode === 'batch' ? 'BATCH' : 'STREAMING';
  const plan = await planInSandbox(program.bundlePath, args, { parallelism, runtimeMode });
  const jobGraph = optimize(plan.graph, plan.planHash);
  const r = await runLocalJob({
    program: { bundlePath: program.bundlePath, args, parallelism, runtimeMode },
    jobGraph,
    slots: parallelism,
  });
  if (r.status !== 'FINISHED')
    throw new Error(
      `job ended ${r.status}: ${(r.error as { stack?: string } | undefined)?.stack ?? JSON.stringify(r.error)}`,
    );
  return {
    status: r.status,
    collected: r.collected,
    error: r.error,
    durationMs: r.durationMs,
    jobId: r.jobId,
    accumulators: r.accumulators,
    subtasks: r.metrics.subtasks,
  };
}

/** Canonical form of a multiset of records: sorted JSON strings. */
export function canonical(records: readonly unknown[]): string[] {
  return records.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
}
