/**
 * Fault-tolerance settings of a job, as plan data: how often it checkpoints
 * (`CheckpointingSpec`, Flink's `CheckpointConfig`) and how it restarts after
 * a failure (`RestartStrategySpec`, Flink's restart strategies). A program
 * sets them on its environment (`env.enableCheckpointing`,
 * `env.setRestartStrategy`), plan overrides (CLI flags, tRPC inputs) may
 * replace them, and they travel in the StreamGraph's config and the JobGraph.
 */
import type { SourceSpec } from './stream-graph.js';

/** Every checkpointing mode. */
export const CHECKPOINTING_MODES = ['EXACTLY_ONCE', 'AT_LEAST_ONCE'] as const;

/**
 * `EXACTLY_ONCE` aligns barriers (a channel whose barrier arrived waits for
 * the others), so every record is in exactly one checkpoint's state;
 * `AT_LEAST_ONCE` does not wait: records behind an early barrier may be in
 * the state already and are replayed after a restore.
 */
export type CheckpointingMode = (typeof CHECKPOINTING_MODES)[number];

/** Periodic checkpoints of a job (present in the plan only when checkpointing is enabled). */
export type CheckpointingSpec = {
  /** Time between the triggers of two checkpoints. */
  intervalMs: number;
  /** @default 'EXACTLY_ONCE' */
  mode: CheckpointingMode;
  /** A checkpoint not complete after this long is aborted. @default 600000 (10 minutes, as Flink) */
  timeoutMs: number;
  /** Least time between the end of one checkpoint and the trigger of the next. @default 0 */
  minPauseBetweenCheckpointsMs: number;
  /**
   * Consecutive failed checkpoints tolerated before the job fails (and its
   * restart strategy decides); `-1` tolerates any number. @default -1
   */
  tolerableCheckpointFailureNumber: number;
  /** Completed checkpoints kept; older ones are deleted. @default 3 */
  maxRetainedCheckpoints: number;
};

/** The defaults of every {@link CheckpointingSpec} field but the interval. */
export const CHECKPOINTING_DEFAULTS: Readonly<Omit<CheckpointingSpec, 'intervalMs'>> = Object.freeze({
  mode: 'EXACTLY_ONCE',
  timeoutMs: 600_000,
  minPauseBetweenCheckpointsMs: 0,
  tolerableCheckpointFailureNumber: -1,
  maxRetainedCheckpoints: 3,
});

/** Every restart strategy type. */
export const RESTART_STRATEGY_TYPES = ['none', 'fixed-delay', 'exponential-delay', 'failure-rate'] as const;

/**
 * How a job restarts after a failure. Without one set, a job with
 * checkpointing uses `exponential-delay` with its defaults (as Flink 1.19+)
 * and a job without checkpointing does not restart (`none`).
 */
export type RestartStrategySpec =
  | { type: 'none' }
  | {
      type: 'fixed-delay';
      /** Restarts allowed before the job fails. */
      attempts: number;
      /** Wait before each restart. */
      delayMs: number;
    }
  | {
      type: 'exponential-delay';
      /** Wait before the first restart. @default 1000 */
      initialBackoffMs: number;
      /** Longest wait. @default 60000 */
      maxBackoffMs: number;
      /** Factor of the wait from one restart to the next. @default 1.5 */
      backoffMultiplier: number;
      /** A job that ran this long without failing starts again at the initial wait. @default 3600000 */
      resetBackoffThresholdMs: number;
      /** Each wait varies at random by up to this fraction of it. @default 0.1 */
      jitterFactor: number;
    }
  | {
      type: 'failure-rate';
      /** Failures within `intervalMs` allowed before the job fails. */
      maxFailuresPerInterval: number;
      /** Length of the window failures are counted in. */
      intervalMs: number;
      /** Wait before each restart. */
      delayMs: number;
    };

/** The defaults of the `exponential-delay` strategy (Flink 1.19's). */
export const EXPONENTIAL_DELAY_DEFAULTS: Readonly<
  Extract<RestartStrategySpec, { type: 'exponential-delay' }>
> = Object.freeze({
  type: 'exponential-delay',
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  backoffMultiplier: 1.5,
  resetBackoffThresholdMs: 3_600_000,
  jitterFactor: 0.1,
});

/**
 * The restart strategy a job runs with: its own if set, else the cluster's
 * default if given, else `exponential-delay` when it checkpoints and `none`
 * when it does not.
 */
export function effectiveRestartStrategy(
  own: RestartStrategySpec | undefined,
  checkpointing: boolean,
  clusterDefault?: RestartStrategySpec,
): RestartStrategySpec {
  return own ?? clusterDefault ?? (checkpointing ? { ...EXPONENTIAL_DELAY_DEFAULTS } : { type: 'none' });
}

/** A restart strategy in a few words, e.g. `fixed-delay (3 attempts, 1000 ms apart)`. */
export function describeRestartStrategy(s: RestartStrategySpec): string {
  switch (s.type) {
    case 'none':
      return 'no restart';
    case 'fixed-delay':
      return `fixed-delay (${s.attempts} attempts, ${s.delayMs} ms apart)`;
    case 'exponential-delay':
      return `exponential-delay (${s.initialBackoffMs} ms to ${s.maxBackoffMs} ms, x${s.backoffMultiplier}, jitter ${s.jitterFactor})`;
    case 'failure-rate':
      return `failure-rate (${s.maxFailuresPerInterval} failures per ${s.intervalMs} ms, ${s.delayMs} ms apart)`;
  }
}

/**
 * Whether a source can read its records again after a restore, from the
 * position its checkpoint holds. The socket source cannot (what it read is
 * gone): a job reading one is at-most-once for that source's records.
 */
export function isReplayableSource(spec: SourceSpec): boolean {
  return spec.type !== 'socket';
}
