/**
 * The fault-tolerance flags of `freshet plan`, `run` and `nexmark run`:
 * `--checkpoint-interval MS`, `--checkpoint-mode MODE` and
 * `--restart-strategy SPEC` are plan overrides (they win over what the
 * program sets with `env.enableCheckpointing` / `env.setRestartStrategy`);
 * `--checkpoint-dir DIR` is where a local run keeps its checkpoints.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  EXPONENTIAL_DELAY_DEFAULTS,
  type CheckpointingMode,
  type PlanOverrides,
  type RestartStrategySpec,
} from '@freshet/graph';

/** What the fault-tolerance flags parse to. */
export interface FaultToleranceFlags {
  checkpointInterval?: number;
  checkpointMode?: CheckpointingMode;
  restartStrategy?: RestartStrategySpec;
  checkpointDir?: string;
}

/** The syntax of `--restart-strategy`, for help texts and errors. */
export const RESTART_STRATEGY_SYNTAX =
  'none | fixed-delay:ATTEMPTS:DELAY_MS | exponential-delay[:INITIAL_MS[:MAX_MS[:MULTIPLIER]]] | failure-rate:MAX_FAILURES:INTERVAL_MS:DELAY_MS';

function nonNegativeInt(what: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(
      `${what} must be a non-negative integer (got '${text ?? ''}'); syntax: ${RESTART_STRATEGY_SYNTAX}`,
    );
  }
  return n;
}

/** Parses `--restart-strategy`, e.g. `fixed-delay:3:1000`. */
export function parseRestartStrategy(value: string): RestartStrategySpec {
  const [type, ...args] = value.trim().split(':');
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max) {
      throw new InvalidArgumentError(
        `'${value}' has ${args.length} parameter(s) for ${type}; syntax: ${RESTART_STRATEGY_SYNTAX}`,
      );
    }
  };
  switch (type) {
    case 'none':
      arity(0, 0);
      return { type: 'none' };
    case 'fixed-delay':
      arity(2, 2);
      return {
        type: 'fixed-delay',
        attempts: nonNegativeInt('ATTEMPTS', args[0]),
        delayMs: nonNegativeInt('DELAY_MS', args[1]),
      };
    case 'exponential-delay': {
      arity(0, 3);
      const d = EXPONENTIAL_DELAY_DEFAULTS;
      const initialBackoffMs =
        args[0] === undefined ? d.initialBackoffMs : nonNegativeInt('INITIAL_MS', args[0]);
      const maxBackoffMs =
        args[1] === undefined
          ? Math.max(d.maxBackoffMs, initialBackoffMs)
          : nonNegativeInt('MAX_MS', args[1]);
      const backoffMultiplier = args[2] === undefined ? d.backoffMultiplier : Number(args[2]);
      if (!Number.isFinite(backoffMultiplier) || backoffMultiplier < 1) {
        throw new InvalidArgumentError(`MULTIPLIER must be a number >= 1 (got '${args[2] ?? ''}')`);
      }
      if (maxBackoffMs < initialBackoffMs)
        throw new InvalidArgumentError(`MAX_MS ${maxBackoffMs} is below INITIAL_MS ${initialBackoffMs}`);
      return { ...d, initialBackoffMs, maxBackoffMs, backoffMultiplier };
    }
    case 'failure-rate':
      arity(3, 3);
      return {
        type: 'failure-rate',
        maxFailuresPerInterval: nonNegativeInt('MAX_FAILURES', args[0]),
        intervalMs: Math.max(1, nonNegativeInt('INTERVAL_MS', args[1])),
        delayMs: nonNegativeInt('DELAY_MS', args[2]),
      };
    default:
      throw new InvalidArgumentError(
        `unknown restart strategy '${value}'; syntax: ${RESTART_STRATEGY_SYNTAX}`,
      );
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

function parseInterval(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected milliseconds (0 disables), got '${value}'`);
  return n;
}

/** Adds the plan-override flags (`--checkpoint-interval`, `--checkpoint-mode`, `--restart-strategy`). */
export function withFaultToleranceOptions(command: Command): Command {
  return command
    .option(
      '--checkpoint-interval <ms>',
      "checkpoint every MS milliseconds (0: no periodic checkpoints), overriding the program's",
      parseInterval,
    )
    .option(
      '--checkpoint-mode <mode>',
      'exactly-once (aligned barriers) or at-least-once',
      parseCheckpointMode,
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

/** The plan overrides the fault-tolerance flags give. */
export function faultToleranceOverrides(flags: FaultToleranceFlags): PlanOverrides {
  const overrides: PlanOverrides = {};
  if (flags.checkpointInterval !== undefined || flags.checkpointMode !== undefined) {
    overrides.checkpointing = {};
    if (flags.checkpointInterval !== undefined) overrides.checkpointing.intervalMs = flags.checkpointInterval;
    if (flags.checkpointMode !== undefined) overrides.checkpointing.mode = flags.checkpointMode;
  }
  if (flags.restartStrategy !== undefined) overrides.restartStrategy = flags.restartStrategy;
  return overrides;
}
