/**
 * The one-line syntax of a restart strategy, for flags and settings
 * (`--restart-strategy fixed-delay:3:1000`), parsed into a
 * {@link RestartStrategySpec}. Declared once here, so the CLI's flags and the
 * JobManager's cluster default read the same text the same way.
 */
import { defineErrorClass, InvalidInputError } from '@freshet/errors';
import { EXPONENTIAL_DELAY_DEFAULTS, type RestartStrategySpec } from './checkpointing.js';

/** The syntax, for help texts and errors. */
export const RESTART_STRATEGY_SYNTAX =
  'none | fixed-delay:ATTEMPTS:DELAY_MS | exponential-delay[:INITIAL_MS[:MAX_MS[:MULTIPLIER]]] | failure-rate:MAX_FAILURES:INTERVAL_MS:DELAY_MS';

/** Text that is not a restart strategy; the message names the part that is wrong. */
export class RestartStrategySyntaxError extends InvalidInputError {
  static {
    defineErrorClass(this, 'RestartStrategySyntaxError', 'INVALID_INPUT');
  }
}

function nonNegativeInt(what: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isInteger(n) || n < 0) {
    throw new RestartStrategySyntaxError(
      `${what} must be a non-negative integer (got '${text ?? ''}'); syntax: ${RESTART_STRATEGY_SYNTAX}`,
    );
  }
  return n;
}

/**
 * Parses a restart strategy, e.g. `none`, `fixed-delay:3:1000`,
 * `exponential-delay:500:10000:2`, `failure-rate:3:60000:1000`.
 *
 * @throws {@link RestartStrategySyntaxError} naming what is wrong
 */
export function parseRestartStrategy(value: string): RestartStrategySpec {
  const [type, ...args] = value.trim().split(':');
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max) {
      throw new RestartStrategySyntaxError(
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
        throw new RestartStrategySyntaxError(`MULTIPLIER must be a number >= 1 (got '${args[2] ?? ''}')`);
      }
      if (maxBackoffMs < initialBackoffMs)
        throw new RestartStrategySyntaxError(
          `MAX_MS ${maxBackoffMs} is below INITIAL_MS ${initialBackoffMs}`,
        );
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
      throw new RestartStrategySyntaxError(
        `unknown restart strategy '${value}'; syntax: ${RESTART_STRATEGY_SYNTAX}`,
      );
  }
}
