/**
 * Restart strategies (Flink's `RestartBackoffTimeStrategy`): after each
 * failure of a job, decide whether it restarts and after how long. Pure:
 * time comes in as arguments, randomness (the jitter) from an injected
 * function, so the JobManager's scheduler and the local mini-cluster use
 * the same objects and tests check the timing exactly.
 */
import type { RestartStrategySpec } from '@freshet/graph';

/** What a strategy decided after a failure. */
export type RestartDecision =
  | {
      restart: true;
      /** Wait this long before restarting. */
      delayMs: number;
    }
  | {
      restart: false;
      /** Why not, e.g. `fixed-delay: 3 restarts used`. */
      reason: string;
    };

/** One job's restart strategy, with the failure history it needs. */
export interface RestartStrategy {
  /** The strategy as plan data. */
  readonly spec: RestartStrategySpec;
  /** The job failed at `nowMs` (epoch or monotonic, as long as it is one clock): restart, and when? */
  onFailure(nowMs: number): RestartDecision;
  /** The job is running again since `nowMs` (exponential-delay measures its stable period from here). */
  onRunning(nowMs: number): void;
}

/** Options of {@link createRestartStrategy}. */
export interface RestartStrategyOptions {
  /** Uniform random numbers in [0, 1), for the jitter. @default Math.random */
  random?: () => number;
}

/** A strategy of the given spec, with an empty failure history. */
export function createRestartStrategy(
  spec: RestartStrategySpec,
  options: RestartStrategyOptions = {},
): RestartStrategy {
  switch (spec.type) {
    case 'none':
      return new NoRestart(spec);
    case 'fixed-delay':
      return new FixedDelayRestart(spec);
    case 'exponential-delay':
      return new ExponentialDelayRestart(spec, options.random ?? Math.random);
    case 'failure-rate':
      return new FailureRateRestart(spec);
  }
}

class NoRestart implements RestartStrategy {
  constructor(readonly spec: Extract<RestartStrategySpec, { type: 'none' }>) {}
  onFailure(): RestartDecision {
    return { restart: false, reason: 'the restart strategy is none' };
  }
  onRunning(): void {}
}

/** Up to `attempts` restarts, `delayMs` apart. */
class FixedDelayRestart implements RestartStrategy {
  private failures = 0;
  constructor(readonly spec: Extract<RestartStrategySpec, { type: 'fixed-delay' }>) {}
  onFailure(): RestartDecision {
    this.failures++;
    if (this.failures > this.spec.attempts) {
      return {
        restart: false,
        reason: `fixed-delay: all ${this.spec.attempts} restart attempt${this.spec.attempts === 1 ? '' : 's'} used`,
      };
    }
    return { restart: true, delayMs: this.spec.delayMs };
  }
  onRunning(): void {}
}

/**
 * Waits `initialBackoffMs`, then `backoffMultiplier` times longer after each
 * further failure, up to `maxBackoffMs`; each wait varies by up to
 * ±`jitterFactor` of it. When the job ran at least `resetBackoffThresholdMs`
 * since it last (re)started before failing, the wait starts again at
 * `initialBackoffMs`. Never gives up.
 */
class ExponentialDelayRestart implements RestartStrategy {
  private backoffMs: number;
  private runningSince: number | undefined;
  private lastFailure: number | undefined;
  constructor(
    readonly spec: Extract<RestartStrategySpec, { type: 'exponential-delay' }>,
    private readonly random: () => number,
  ) {
    this.backoffMs = spec.initialBackoffMs;
  }
  onFailure(nowMs: number): RestartDecision {
    const s = this.spec;
    const stableSince = this.runningSince ?? this.lastFailure;
    if (stableSince !== undefined && nowMs - stableSince >= s.resetBackoffThresholdMs)
      this.backoffMs = s.initialBackoffMs;
    const base = this.backoffMs;
    const jitter = base * s.jitterFactor * (2 * this.random() - 1);
    const delayMs = Math.max(0, Math.min(s.maxBackoffMs, Math.round(base + jitter)));
    this.backoffMs = Math.min(s.maxBackoffMs, base * s.backoffMultiplier);
    this.lastFailure = nowMs;
    this.runningSince = undefined;
    return { restart: true, delayMs };
  }
  onRunning(nowMs: number): void {
    this.runningSince = nowMs;
  }
}

/** Restarts after `delayMs` while at most `maxFailuresPerInterval` failures fell within the last `intervalMs`. */
class FailureRateRestart implements RestartStrategy {
  private readonly failures: number[] = [];
  constructor(readonly spec: Extract<RestartStrategySpec, { type: 'failure-rate' }>) {}
  onFailure(nowMs: number): RestartDecision {
    const s = this.spec;
    this.failures.push(nowMs);
    while (this.failures.length > 0 && nowMs - this.failures[0]! >= s.intervalMs) this.failures.shift();
    if (this.failures.length > s.maxFailuresPerInterval) {
      return {
        restart: false,
        reason: `failure-rate: ${this.failures.length} failures within ${s.intervalMs} ms (at most ${s.maxFailuresPerInterval} allowed)`,
      };
    }
    return { restart: true, delayMs: s.delayMs };
  }
  onRunning(): void {}
}
