/**
 * The fault-tolerance flags of `freshet plan`, `run`, `submit` and
 * `nexmark run`: `--checkpoint-interval MS`, `--checkpoint-mode MODE`,
 * `--checkpoint-timeout MS`, `--checkpoint-min-pause MS`,
 * `--checkpoints-retained N`, `--checkpoint-tolerable-failures N` and
 * `--restart-strategy SPEC` are plan overrides (they win over what the
 * program sets with `env.enableCheckpointing` / `env.setRestartStrategy`, on
 * a cluster as locally); `--checkpoint-dir DIR` is where a local run keeps
 * its checkpoints.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  parseRestartStrategy as parseRestartStrategySpec,
  RESTART_STRATEGY_SYNTAX,
  type CheckpointingMode,
  type CheckpointingSpec,
  type PlanOverrides,
  type RestartStrategySpec,
} from '@freshet/graph';

/** What the fault-tolerance flags parse to. */
export interface FaultToleranceFlags {
  /** 0 turns the program's checkpointing off. */
  checkpointInterval?: number;
  checkpointMode?: CheckpointingMode;
  checkpointTimeout?: number;
  checkpointMinPause?: number;
  checkpointsRetained?: number;
  checkpointTolerableFailures?: number;
  restartStrategy?: RestartStrategySpec;
  checkpointDir?: string;
}

export { RESTART_STRATEGY_SYNTAX };

/** Parses `--restart-strategy`, e.g. `fixed-delay:3:1000` (the syntax `@freshet/graph` declares). */
export function parseRestartStrategy(value: string): RestartStrategySpec {
  try {
    return parseRestartStrategySpec(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

/** Parses `--checkpoint-mode exactly-once|at-least-once`. */
export function parseCheckpointMode(value: string): CheckpointingMode {
  const mode = value.toUpperCase().replaceAll('-', '_');
  if (mode !== 'EXACTLY_ONCE' && mode !== 'AT_LEAST_ONCE') {
    throw new InvalidArgumentError(`expected exactly-once or at-least-once, got '${value}'`);
  }
  return mode;
}

function parseMillis(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected milliseconds, got '${value}'`);
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** `-1` (any number) or a non-negative integer. */
function parseTolerableFailures(value: string): number {
  return value.trim() === '-1' ? -1 : parseMillis(value);
}

/** Adds the plan-override flags (everything but `--checkpoint-dir`). */
export function withFaultToleranceOptions(command: Command): Command {
  return command
    .option(
      '--checkpoint-interval <ms>',
      "checkpoint every MS milliseconds (0: no periodic checkpoints), overriding the program's",
      parseMillis,
    )
    .option(
      '--checkpoint-mode <mode>',
      'exactly-once (aligned barriers) or at-least-once',
      parseCheckpointMode,
    )
    .option('--checkpoint-timeout <ms>', 'abort a checkpoint not complete after this long', parsePositive)
    .option(
      '--checkpoint-min-pause <ms>',
      'least time between the end of one checkpoint and the next',
      parseMillis,
    )
    .option('--checkpoints-retained <n>', 'completed checkpoints kept', parsePositive)
    .option(
      '--checkpoint-tolerable-failures <n>',
      'consecutive failed checkpoints before the job fails (-1: any number)',
      parseTolerableFailures,
    )
    .option(
      '--restart-strategy <spec>',
      `restart strategy: ${RESTART_STRATEGY_SYNTAX}`,
      parseRestartStrategy,
    );
}

/** Adds `--checkpoint-dir` (local runs). */
export function withCheckpointDirOption(command: Command): Command {
  return command.option(
    '--checkpoint-dir <dir>',
    'keep the checkpoints here (<dir>/<job>/chk-<N>/); default: a temporary directory removed at the end',
  );
}

const FLAGS = [
  'checkpointInterval',
  'checkpointMode',
  'checkpointTimeout',
  'checkpointMinPause',
  'checkpointsRetained',
  'checkpointTolerableFailures',
  'restartStrategy',
  'checkpointDir',
] as const satisfies readonly (keyof FaultToleranceFlags)[];

/** The fault-tolerance flags among parsed options, without the absent ones. */
export function faultToleranceFlagsOf(options: FaultToleranceFlags): FaultToleranceFlags {
  const flags: Record<string, unknown> = {};
  for (const name of FLAGS) if (options[name] !== undefined) flags[name] = options[name];
  return flags;
}

/** The plan overrides the fault-tolerance flags give. */
export function faultToleranceOverrides(flags: FaultToleranceFlags): PlanOverrides {
  const overrides: PlanOverrides = {};
  const checkpointing: Partial<CheckpointingSpec> = {};
  if (flags.checkpointInterval !== undefined) checkpointing.intervalMs = flags.checkpointInterval;
  if (flags.checkpointMode !== undefined) checkpointing.mode = flags.checkpointMode;
  if (flags.checkpointTimeout !== undefined) checkpointing.timeoutMs = flags.checkpointTimeout;
  if (flags.checkpointMinPause !== undefined)
    checkpointing.minPauseBetweenCheckpointsMs = flags.checkpointMinPause;
  if (flags.checkpointsRetained !== undefined)
    checkpointing.maxRetainedCheckpoints = flags.checkpointsRetained;
  if (flags.checkpointTolerableFailures !== undefined)
    checkpointing.tolerableCheckpointFailureNumber = flags.checkpointTolerableFailures;
  if (Object.keys(checkpointing).length > 0) overrides.checkpointing = checkpointing;
  if (flags.restartStrategy !== undefined) overrides.restartStrategy = flags.restartStrategy;
  return overrides;
}
