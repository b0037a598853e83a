/**
 * Plan overrides: settings that win over what a program sets on its
 * environment (the CLI's `--parallelism`, `--checkpoint-interval`, …, and
 * the same fields of a tRPC submission). Every party that plans a job — the
 * plan sandbox, each slot worker, each TaskManager — plans with exactly
 * these, so they all arrive at the same plan hash. `@freshet/protocol`'s
 * `PlanOverridesSchema` validates them where they cross a process boundary.
 */
import type { CheckpointingSpec, RestartStrategySpec } from './checkpointing.js';
import { CHECKPOINTING_DEFAULTS } from './checkpointing.js';
import type { RuntimeMode, StateBackendKind } from './stream-graph.js';

/** Settings that take precedence over the program's own. Absent fields leave the program's. */
export type PlanOverrides = {
  /** The job's default parallelism (operators with their own `setParallelism` keep it). */
  parallelism?: number;
  /** The job's number of key groups. */
  maxParallelism?: number;
  /** The runtime mode. */
  runtimeMode?: RuntimeMode;
  /**
   * Fields replacing the program's checkpointing settings: `intervalMs > 0`
   * enables checkpointing (with the program's other settings, or the
   * defaults), `intervalMs: 0` disables it.
   */
  checkpointing?: Partial<CheckpointingSpec>;
  /** Replaces the program's restart strategy. */
  restartStrategy?: RestartStrategySpec;
  /** Replaces the program's state backend. */
  stateBackend?: StateBackendKind;
};

/** A program's invocation: the arguments of its default export and the {@link PlanOverrides} it is planned with. */
export type ProgramInvocation = PlanOverrides & {
  /** Arguments passed to the program's default export. */
  args: string[];
};

/**
 * The checkpointing a job runs with: the program's settings (`program`,
 * whose `intervalMs` is set when it enabled checkpointing) with the
 * override's fields on top, the defaults for the rest; undefined when
 * checkpointing ends up disabled.
 */
export function overrideCheckpointing(
  program: Partial<CheckpointingSpec>,
  override: Partial<CheckpointingSpec> | undefined,
): CheckpointingSpec | undefined {
  const intervalMs = override?.intervalMs ?? program.intervalMs;
  if (intervalMs === undefined || intervalMs <= 0) return undefined;
  return { ...CHECKPOINTING_DEFAULTS, ...program, ...override, intervalMs };
}

/**
 * The plan overrides of `from` (anything that has them, e.g. a tRPC input,
 * a Deployment's program or parsed flags), without its other fields and
 * without the absent ones, so equal overrides give equal objects.
 */
export function planOverridesOf(from: PlanOverrides): PlanOverrides {
  const overrides: PlanOverrides = {};
  if (from.parallelism !== undefined) overrides.parallelism = from.parallelism;
  if (from.maxParallelism !== undefined) overrides.maxParallelism = from.maxParallelism;
  if (from.runtimeMode !== undefined) overrides.runtimeMode = from.runtimeMode;
  if (from.checkpointing !== undefined) overrides.checkpointing = { ...from.checkpointing };
  if (from.restartStrategy !== undefined) overrides.restartStrategy = { ...from.restartStrategy };
  if (from.stateBackend !== undefined) overrides.stateBackend = from.stateBackend;
  return overrides;
}
