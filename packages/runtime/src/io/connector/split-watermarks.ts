/**
 * Per-split watermarks inside a source (Flink's per-partition watermarks):
 * every split has its own bounded-out-of-orderness generator (the highest
 * timestamp it emitted, minus the out-of-orderness, minus 1), and the
 * source's watermark is the minimum over its active splits. A split holds
 * it back from the moment it is assigned, before its first record (it may
 * hold the earliest ones). A split that emitted nothing for the idleness
 * timeout is idle and left out (as is a finished one); when every split is idle — or the subtask owns none — the
 * source's output is marked idle, so a subtask without work does not hold
 * back the job's event time.
 */
import type { WatermarkSpec } from '@freshet/graph';
import { MIN_WATERMARK } from '../../operator.js';

/** One split's watermark generator. */
export class SplitClock {
  /** Highest timestamp emitted. */
  maxTimestamp = Number.NEGATIVE_INFINITY;
  /** Records emitted since the last tick (idleness detection). */
  recordsSinceTick = 0;
  /** Processing time of the last tick that saw records. */
  lastActive: number;
  idle = false;
  constructor(now: number) {
    this.lastActive = now;
  }
}

/** The watermark over a source subtask's splits. */
export class SplitWatermarks {
  private readonly clocks = new Map<string, SplitClock>();
  private readonly outOfOrderness: number;
  private readonly idlenessMs: number;
  /** Whether watermarks are generated at all (`WatermarkStrategy.noWatermarks()` turns them off). */
  readonly enabled: boolean;
  private lastEmitted = MIN_WATERMARK;
  #outputIdle = false;

  constructor(spec: WatermarkSpec | undefined) {
    this.enabled = spec !== undefined && spec.none !== true;
    this.outOfOrderness = spec?.outOfOrdernessMs ?? 0;
    this.idlenessMs = spec?.idlenessMs ?? 0;
  }

  /** The clock of `splitId`, created on first use. */
  clock(splitId: string, now: number): SplitClock {
    let c = this.clocks.get(splitId);
    if (c === undefined) this.clocks.set(splitId, (c = new SplitClock(now)));
    return c;
  }

  /** Restores a split's progress (its highest timestamp) from a checkpoint. */
  restore(splitId: string, maxTimestamp: number, now: number): void {
    this.clock(splitId, now).maxTimestamp = maxTimestamp;
  }

  /**
   * A record arrived on an idle split: it is active again. Returns true
   * when the whole output was idle, so the caller marks it active before
   * emitting the record.
   */
  wake(c: SplitClock): boolean {
    c.idle = false;
    if (!this.#outputIdle) return false;
    this.#outputIdle = false;
    return true;
  }

  /** The split was read to its end. */
  remove(splitId: string): void {
    this.clocks.delete(splitId);
  }

  /** Highest timestamp of each split, for the checkpoint. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, c] of this.clocks)
      if (c.maxTimestamp > Number.NEGATIVE_INFINITY) out[id] = c.maxTimestamp;
    return out;
  }

  /**
   * Called periodically: updates idleness and returns the watermark to emit
   * if it advanced, and whether the output's idleness changed. With
   * `splitsKnown` false (the first discovery is still running) an empty
   * subtask is not idle: its splits may yet hold the earliest records.
   */
  tick(now: number, splitsKnown = true): { watermark?: number; idle?: boolean } {
    const out: { watermark?: number; idle?: boolean } = {};
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const c of this.clocks.values()) {
      if (c.recordsSinceTick > 0) {
        c.recordsSinceTick = 0;
        c.lastActive = now;
        c.idle = false;
      } else if (this.idlenessMs > 0 && !c.idle && now - c.lastActive >= this.idlenessMs) {
        c.idle = true;
      }
      if (c.idle) continue;
      active++;
      if (c.maxTimestamp < min) min = c.maxTimestamp;
    }
    // Before the first discovery a subtask's splits are not known yet: it is not idle, it has not started.
    const idle = active === 0 && splitsKnown;
    if (idle !== this.#outputIdle) {
      this.#outputIdle = idle;
      out.idle = idle;
    }
    // No active split (none known yet): nothing to say, and never +Infinity before the end.
    if (active > 0 && this.enabled) {
      const wm = min - this.outOfOrderness - 1;
      if (wm > this.lastEmitted) {
        this.lastEmitted = wm;
        out.watermark = wm;
      }
    }
    return out;
  }

  /** Whether the output is marked idle. */
  get outputIdle(): boolean {
    return this.#outputIdle;
  }

  /** The last watermark emitted. */
  get current(): number {
    return this.lastEmitted;
  }
}
