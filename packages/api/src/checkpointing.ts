/**
 * Fault tolerance in the API: the checkpoint settings of a job
 * (`env.getCheckpointConfig()`, Flink's `CheckpointConfig`) and its restart
 * strategy (`env.setRestartStrategy(RestartStrategies.fixedDelay(3, 1000))`,
 * Flink's `RestartStrategies`). Both end up as data in the plan
 * (`@freshet/graph`'s `CheckpointingSpec` and `RestartStrategySpec`).
 */
import {
  CHECKPOINTING_DEFAULTS,
  EXPONENTIAL_DELAY_DEFAULTS,
  describeRestartStrategy,
  type CheckpointingMode as CheckpointingModeName,
  type CheckpointingSpec,
  type RestartStrategySpec,
} from '@freshet/graph';
import { checkNonNegativeInt, checkPositiveInt, describeValue } from './check.js';
import { ProgramDefinitionError } from './errors.js';
import type { Millis } from './functions.js';

/** `'EXACTLY_ONCE'` or `'AT_LEAST_ONCE'` (see {@link CheckpointingMode} for the values by name). */
export type CheckpointingMode = CheckpointingModeName;

/** The checkpointing modes by name: `CheckpointingMode.AT_LEAST_ONCE`. */
export const CheckpointingMode = Object.freeze({
  /** Barriers are aligned: every record is in exactly one checkpoint's state. */
  EXACTLY_ONCE: 'EXACTLY_ONCE',
  /** Barriers are not aligned: records may be replayed into state after a restore. */
  AT_LEAST_ONCE: 'AT_LEAST_ONCE',
} as const satisfies Record<CheckpointingMode, CheckpointingMode>);

/** Throws unless `mode` is a checkpointing mode. */
export function checkCheckpointingMode(what: string, mode: unknown): CheckpointingMode {
  if (mode !== 'EXACTLY_ONCE' && mode !== 'AT_LEAST_ONCE') {
    throw new ProgramDefinitionError(
      `${what} expects 'EXACTLY_ONCE' or 'AT_LEAST_ONCE' (got ${describeValue(mode)})`,
    );
  }
  return mode;
}

/**
 * The checkpoint settings of a job, reached through
 * `env.getCheckpointConfig()`. Checkpointing itself is switched on with
 * `env.enableCheckpointing(intervalMs)` (or this config's
 * {@link CheckpointConfig.setCheckpointInterval}); the other settings apply
 * once it is on.
 */
export class CheckpointConfig {
  #intervalMs: number | undefined;
  #mode: CheckpointingMode = CHECKPOINTING_DEFAULTS.mode;
  #timeoutMs = CHECKPOINTING_DEFAULTS.timeoutMs;
  #minPauseMs = CHECKPOINTING_DEFAULTS.minPauseBetweenCheckpointsMs;
  #tolerable = CHECKPOINTING_DEFAULTS.tolerableCheckpointFailureNumber;
  #retained = CHECKPOINTING_DEFAULTS.maxRetainedCheckpoints;

  /** Enables periodic checkpoints every `intervalMs` milliseconds. */
  setCheckpointInterval(intervalMs: Millis): this {
    this.#intervalMs = checkPositiveInt('setCheckpointInterval', intervalMs);
    return this;
  }
  /** The checkpoint interval in milliseconds; -1 while checkpointing is disabled (as Flink). */
  getCheckpointInterval(): Millis {
    return this.#intervalMs ?? -1;
  }
  /** Whether periodic checkpoints are enabled. */
  isCheckpointingEnabled(): boolean {
    return this.#intervalMs !== undefined;
  }

  /**
   * Exactly-once (aligned barriers) or at-least-once (barriers not aligned).
   * @default 'EXACTLY_ONCE'
   */
  setCheckpointingMode(mode: CheckpointingMode): this {
    this.#mode = checkCheckpointingMode('setCheckpointingMode', mode);
    return this;
  }
  /** The checkpointing mode. */
  getCheckpointingMode(): CheckpointingMode {
    return this.#mode;
  }

  /**
   * A checkpoint that has not completed after this long is aborted.
   * @default 600000 (10 minutes)
   */
  setCheckpointTimeout(timeoutMs: Millis): this {
    this.#timeoutMs = checkPositiveInt('setCheckpointTimeout', timeoutMs);
    return this;
  }
  /** The checkpoint timeout in milliseconds. */
  getCheckpointTimeout(): Millis {
    return this.#timeoutMs;
  }

  /**
   * Least time between the end of one checkpoint and the start of the next,
   * so a job whose checkpoints take long still gets time to process records.
   * @default 0
   */
  setMinPauseBetweenCheckpoints(pauseMs: Millis): this {
    this.#minPauseMs = checkNonNegativeInt('setMinPauseBetweenCheckpoints', pauseMs);
    return this;
  }
  /** The minimum pause between checkpoints in milliseconds. */
  getMinPauseBetweenCheckpoints(): Millis {
    return this.#minPauseMs;
  }

  /**
   * Consecutive failed checkpoints (timed out or declined) the job tolerates;
   * one more fails the job, and its restart strategy decides. `-1` tolerates
   * any number (Freshet's default: a failed checkpoint alone never fails a
   * job, the next one simply tries again).
   * @default -1
   */
  setTolerableCheckpointFailureNumber(failures: number): this {
    if (failures !== -1) checkNonNegativeInt('setTolerableCheckpointFailureNumber', failures);
    this.#tolerable = failures;
    return this;
  }
  /** The number of tolerable consecutive checkpoint failures (-1: any). */
  getTolerableCheckpointFailureNumber(): number {
    return this.#tolerable;
  }

  /**
   * Completed checkpoints kept in checkpoint storage; the data of older ones
   * is deleted.
   * @default 3
   */
  setMaxRetainedCheckpoints(retained: number): this {
    this.#retained = checkPositiveInt('setMaxRetainedCheckpoints', retained);
    return this;
  }
  /** The number of retained completed checkpoints. */
  getMaxRetainedCheckpoints(): number {
    return this.#retained;
  }

  /** The settings as plan data (`intervalMs` only when checkpointing is enabled). */
  toSpec(): Partial<CheckpointingSpec> {
    const spec: Partial<CheckpointingSpec> = {
      mode: this.#mode,
      timeoutMs: this.#timeoutMs,
      minPauseBetweenCheckpointsMs: this.#minPauseMs,
      tolerableCheckpointFailureNumber: this.#tolerable,
      maxRetainedCheckpoints: this.#retained,
    };
    if (this.#intervalMs !== undefined) spec.intervalMs = this.#intervalMs;
    return spec;
  }
}

/**
 * A restart strategy, made by {@link RestartStrategies} and given to
 * `env.setRestartStrategy`.
 */
export class RestartStrategyConfiguration {
  // Brands the class so that only RestartStrategies' results are accepted, not look-alike objects.
  readonly #brand = true;
  /** The strategy as plan data. */
  readonly spec: Readonly<RestartStrategySpec>;

  /** @internal Use {@link RestartStrategies}. */
  constructor(spec: RestartStrategySpec) {
    this.spec = Object.freeze({ ...spec });
  }

  /** A short description, e.g. `fixed-delay (3 attempts, 1000 ms apart)`. */
  describe(): string {
    return describeRestartStrategy(this.spec);
  }

  /** Whether `value` is a configuration made by {@link RestartStrategies} (not a look-alike object). */
  static is(value: unknown): value is RestartStrategyConfiguration {
    return typeof value === 'object' && value !== null && #brand in value;
  }
}

/** Options of {@link RestartStrategies.exponentialDelay}; each has Flink 1.19's default. */
export interface ExponentialDelayOptions {
  /** Wait before the first restart. @default 1000 */
  initialBackoffMs?: Millis;
  /** Longest wait between restarts. @default 60000 */
  maxBackoffMs?: Millis;
  /** Factor of the wait from one restart to the next (>= 1). @default 1.5 */
  backoffMultiplier?: number;
  /** After this long without a failure, the wait starts again at `initialBackoffMs`. @default 3600000 */
  resetBackoffThresholdMs?: Millis;
  /** Each wait varies at random by up to this fraction of it (0..1). @default 0.1 */
  jitterFactor?: number;
}

function checkFraction(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ProgramDefinitionError(
      `${what} expects a number from ${min} to ${max} (got ${describeValue(value)})`,
    );
  }
  return value;
}

/** The restart strategies (Flink's `RestartStrategies`). */
export const RestartStrategies = Object.freeze({
  /** A failure fails the job. The default without checkpointing. */
  noRestart(): RestartStrategyConfiguration {
    return new RestartStrategyConfiguration({ type: 'none' });
  },
  /**
   * Restarts up to `attempts` times, waiting `delayMs` before each restart;
   * the failure after that fails the job.
   */
  fixedDelay(attempts: number, delayMs: Millis): RestartStrategyConfiguration {
    return new RestartStrategyConfiguration({
      type: 'fixed-delay',
      attempts: checkNonNegativeInt('RestartStrategies.fixedDelay attempts', attempts),
      delayMs: checkNonNegativeInt('RestartStrategies.fixedDelay delayMs', delayMs),
    });
  },
  /**
   * Restarts without limit, waiting longer after each failure (from
   * `initialBackoffMs`, times `backoffMultiplier`, up to `maxBackoffMs`,
   * each wait varied by `jitterFactor`); a job that ran
   * `resetBackoffThresholdMs` without failing starts again at the initial
   * wait. The default with checkpointing.
   */
  exponentialDelay(options: ExponentialDelayOptions = {}): RestartStrategyConfiguration {
    const what = 'RestartStrategies.exponentialDelay';
    const d = EXPONENTIAL_DELAY_DEFAULTS;
    const spec: RestartStrategySpec = {
      type: 'exponential-delay',
      initialBackoffMs: checkNonNegativeInt(
        `${what} initialBackoffMs`,
        options.initialBackoffMs ?? d.initialBackoffMs,
      ),
      maxBackoffMs: checkNonNegativeInt(`${what} maxBackoffMs`, options.maxBackoffMs ?? d.maxBackoffMs),
      backoffMultiplier: checkFraction(
        `${what} backoffMultiplier`,
        options.backoffMultiplier ?? d.backoffMultiplier,
        1,
        1000,
      ),
      resetBackoffThresholdMs: checkPositiveInt(
        `${what} resetBackoffThresholdMs`,
        options.resetBackoffThresholdMs ?? d.resetBackoffThresholdMs,
      ),
      jitterFactor: checkFraction(`${what} jitterFactor`, options.jitterFactor ?? d.jitterFactor, 0, 1),
    };
    if (spec.maxBackoffMs < spec.initialBackoffMs) {
      throw new ProgramDefinitionError(
        `${what} expects maxBackoffMs >= initialBackoffMs (got ${spec.maxBackoffMs} < ${spec.initialBackoffMs})`,
      );
    }
    return new RestartStrategyConfiguration(spec);
  },
  /**
   * Restarts after `delayMs` as long as no more than `maxFailuresPerInterval`
   * failures happened within the last `intervalMs`; one more fails the job.
   */
  failureRate(
    maxFailuresPerInterval: number,
    intervalMs: Millis,
    delayMs: Millis,
  ): RestartStrategyConfiguration {
    return new RestartStrategyConfiguration({
      type: 'failure-rate',
      maxFailuresPerInterval: checkNonNegativeInt(
        'RestartStrategies.failureRate maxFailuresPerInterval',
        maxFailuresPerInterval,
      ),
      intervalMs: checkPositiveInt('RestartStrategies.failureRate intervalMs', intervalMs),
      delayMs: checkNonNegativeInt('RestartStrategies.failureRate delayMs', delayMs),
    });
  },
});
