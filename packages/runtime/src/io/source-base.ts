/**
 * Shared machinery of the built-in sources: split of the work across
 * subtasks, rate limiting, position snapshots. Sources emit no watermarks of
 * their own (use `assignTimestampsAndWatermarks`); a bounded source ends with
 * the +Infinity watermark, which the task sends when `emitNext` returns 'END'.
 */
import type { StreamNode } from '@freshet/graph';
import type { OperatorContext, OperatorSnapshot, Output, SourceOperator } from '../operator.js';
import { surfaceUserError } from '../operators/errors.js';
import type { SchedulableSource } from '../task/stream-task.js';

/** Snapshot of a source's position (operator state). */
export interface SourcePosition {
  subtask: number;
  parallelism: number;
  position: number;
}

/** Contiguous share `[start, end)` of `n` items for subtask `i` of `p`. */
export function contiguousShare(n: number, i: number, p: number): { start: number; end: number } {
  return { start: Math.floor((i * n) / p), end: Math.floor(((i + 1) * n) / p) };
}

/** Paces emission to a rate (records per second for this subtask). */
export class RateLimiter {
  private startedAt = -1;
  private emitted = 0;
  constructor(private readonly perSecond: number) {}

  /** How many records may go out now (at most `max`). */
  allowance(max: number): number {
    if (!(this.perSecond > 0)) return max;
    const t = Date.now();
    if (this.startedAt < 0) this.startedAt = t;
    const due = Math.floor(((t - this.startedAt) * this.perSecond) / 1000) + 1 - this.emitted;
    return Math.max(0, Math.min(max, due));
  }

  /** Records actually emitted. */
  record(n: number): void {
    this.emitted += n;
  }

  /** Milliseconds until the next record is due. */
  delayMs(): number {
    if (!(this.perSecond > 0) || this.startedAt < 0) return 0;
    const due = this.startedAt + (this.emitted * 1000) / this.perSecond;
    return Math.max(1, Math.ceil(due - Date.now()));
  }
}

/** Base class of the built-in sources. */
export abstract class BaseSource implements SourceOperator, SchedulableSource {
  protected ctx!: OperatorContext;
  protected output!: Output;
  protected limiter: RateLimiter | undefined;

  constructor(readonly node: StreamNode) {}

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    this.output = ctx.output;
    let position: number | undefined;
    for (const s of restored ?? []) {
      const p = s.operator as SourcePosition | undefined;
      if (p && p.subtask === ctx.subtaskIndex && p.parallelism === ctx.parallelism) position = p.position;
    }
    this.init(position);
  }

  /** Sets up the subtask's share; `position` is a restored position if any. */
  protected abstract init(position: number | undefined): void;
  /** The current position, for snapshots. */
  protected abstract position(): number;

  abstract emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END';

  /** Rate limited: how many records to emit now. */
  protected budget(max: number): number {
    return this.limiter ? this.limiter.allowance(max) : max;
  }

  idleDelayMs(): number {
    return this.limiter?.delayMs() ?? 2;
  }

  processElement(): void {
    throw new Error(`source '${this.node.name}' has no input`);
  }

  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }

  endInput(): void {}

  snapshotState(): OperatorSnapshot {
    const p: SourcePosition = {
      subtask: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      position: this.position(),
    };
    return { operator: p };
  }

  close(): void {}

  /** Reports a failure of a user function called by the source. */
  protected fail(error: unknown, where: string): never {
    return surfaceUserError(error, this.node.name, where, this.ctx.reportUserError);
  }
}
