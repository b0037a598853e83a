/**
 * `freshet plan PROGRAM`: compile and type-check a program, run its plan in
 * the sandbox, optimize it, and print the JobGraph (or, with `--json`, both
 * graphs). The preparation steps are shared with `freshet run`.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { RuntimeMode, StateBackendKind, StreamGraphJson } from '@freshet/graph';
import { optimize, PlanError, planInSandbox, renderJobGraph } from '@freshet/planner';
import type { CompiledProgram } from '@freshet/planner';
import { planOverridesOf, type JobGraph, type PlanOverrides } from '@freshet/protocol';
import { CliError, printJson } from '../output.js';
import {
  faultToleranceOverrides,
  withFaultToleranceOptions,
  type FaultToleranceFlags,
} from './fault-tolerance.js';
import { compileHere } from './upload.js';

/** Options shared by `plan`, `run` and `submit`: the plan overrides as flags (`--mode` is the runtime mode). */
export interface PlanCommandOptions
  extends Omit<PlanOverrides, 'runtimeMode' | 'checkpointing' | 'restartStrategy'>, FaultToleranceFlags {
  mode?: PlanOverrides['runtimeMode'];
  json?: boolean;
}

/** The plan overrides the flags give. */
export function planOverridesOfOptions(opts: PlanCommandOptions): PlanOverrides {
  return planOverridesOf({
    parallelism: opts.parallelism,
    maxParallelism: opts.maxParallelism,
    runtimeMode: opts.mode,
    stateBackend: opts.stateBackend,
    ...faultToleranceOverrides(opts),
  });
}

/** A program taken from file to JobGraph. */
export interface PreparedJob {
  compiled: CompiledProgram;
  overrides: PlanOverrides;
  streamGraph: StreamGraphJson;
  jobGraph: JobGraph;
}

/** Parses a positive integer option value. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** Parses `streaming|batch` into a RuntimeMode. */
export function parseMode(value: string): RuntimeMode {
  const mode = value.toUpperCase();
  if (mode !== 'STREAMING' && mode !== 'BATCH')
    throw new InvalidArgumentError(`expected streaming or batch, got '${value}'`);
  return mode;
}

/** Parses `heap|disk` into a StateBackendKind. */
export function parseStateBackend(value: string): StateBackendKind {
  if (value !== 'heap' && value !== 'disk')
    throw new InvalidArgumentError(`expected heap or disk, got '${value}'`);
  return value;
}

/** Adds the options `plan`, `run` and `submit` share. */
export function withPlanOptions(command: Command): Command {
  return withFaultToleranceOptions(
    command
      .argument(
        '<program>',
        'program file (.ts, .mts, .js or .mjs; submit and run --jobmanager also take a project directory, .zip or .tar.gz)',
      )
      .argument('[args...]', 'arguments passed to the program (put them after --)')
      .option('-p, --parallelism <n>', "default parallelism (overrides the program's)", parsePositiveInt)
      .option('--max-parallelism <n>', 'number of key groups', parsePositiveInt)
      .option('--mode <mode>', 'runtime mode: streaming or batch', parseMode)
      .option(
        '--state-backend <backend>',
        "where keyed state lives: heap, or disk (an on-disk store per subtask, for state larger than memory; overrides the program's)",
        parseStateBackend,
      ),
  ).option('--json', 'print JSON instead of text');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Compile (with type-check), plan in the sandbox and optimize. Compile errors
 * are printed as `file:line:column: message` with a code frame; every
 * failure becomes a {@link CliError} (exit code 1).
 */
export async function prepareJob(
  file: string,
  args: string[],
  opts: PlanCommandOptions,
): Promise<PreparedJob> {
  const compiled = await compileHere(file);
  const overrides = planOverridesOfOptions(opts);

  let plan;
  try {
    plan = await planInSandbox(compiled.bundlePath, args, overrides);
  } catch (err) {
    const output = err instanceof PlanError ? err.stdout : '';
    if (output) process.stderr.write(output);
    throw new CliError(errorMessage(err));
  }
  // What the program printed while planning is not part of the result: keep stdout clean for --json.
  if (plan.stdout) process.stderr.write(plan.stdout);
  if (plan.stderr) process.stderr.write(plan.stderr);
  try {
    return { compiled, overrides, streamGraph: plan.graph, jobGraph: optimize(plan.graph, plan.planHash) };
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
}

/** Registers `freshet plan`. */
export function register(program: Command): void {
  withPlanOptions(
    program
      .command('plan')
      .description('Compile, type-check, plan and optimize a program, and print its JobGraph (nothing runs)'),
  )
    .addHelpText('after', '\nExample:\n  freshet plan wordcount.ts --parallelism 4 -- input.txt')
    .action(async (file: string, args: string[], opts: PlanCommandOptions) => {
      const job = await prepareJob(file, args, opts);
      if (opts.json) {
        printJson({ streamGraph: job.streamGraph, jobGraph: job.jobGraph });
        return;
      }
      process.stdout.write(`Program ${job.compiled.file}  bundle ${job.compiled.sha256.slice(0, 12)}\n`);
      process.stdout.write(`${renderJobGraph(job.jobGraph)}\n`);
    });
}
