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

/** Snapshot of a source's position (operator state): its natural share at `parallelism`, read up to `position`. */
export interface SourcePosition {
  subtask: number;
  parallelism: number;
  position: number;
}

/**
 * Part of a source's work: the indexes `next, next + step, …` below `end`
 * (`null`: unbounded). A subtask's natural share is one of these; after a
 * restore at another parallelism it may hold several.
 */
export interface IndexRun {
  next: number;
  step: number;
  end: number | null;
}

/** Snapshot of a source that holds several runs (restored at another parallelism before). */
export interface SourceRuns {
  v: 2;
  subtask: number;
  parallelism: number;
  runs: IndexRun[];
}

/** Items left in a run (Infinity for an unbounded one). */
const runLength = (r: IndexRun): number =>
  r.end === null ? Number.POSITIVE_INFINITY : Math.max(0, Math.ceil((r.end - r.next) / r.step));

/**
 * This subtask's runs when a source restores at another parallelism than
 * it had: the work left in every former subtask's state (each new subtask
 * is handed all of them, Flink's union redistribution), shared out so no
 * index is read twice or skipped, the same way in every new subtask.
 *
 * - Bounded runs of step 1 (elements, sequences) are laid end to end and cut
 *   into `parallelism` contiguous pieces: each subtask keeps an ordered share.
 * - Others (a generator's `k mod p` progressions, possibly unbounded) go
 *   round-robin; when there are fewer runs than subtasks, each run is first
 *   split into interleaved runs of a larger step.
 */
export function redistributeRuns(all: readonly IndexRun[], subtask: number, parallelism: number): IndexRun[] {
  const runs = all.filter((r) => runLength(r) > 0).sort((a, b) => a.next - b.next || a.step - b.step);
  if (runs.length === 0) return [];
  if (runs.every((r) => r.step === 1 && r.end !== null)) {
    const total = runs.reduce((n, r) => n + runLength(r), 0);
    const from = Math.floor((subtask * total) / parallelism);
    const to = Math.floor(((subtask + 1) * total) / parallelism);
    const mine: IndexRun[] = [];
    let offset = 0;
    for (const r of runs) {
      const len = runLength(r);
      const start = Math.max(from, offset);
      const stop = Math.min(to, offset + len);
      if (start < stop)
        mine.push({ next: r.next + (start - offset), step: 1, end: r.next + (stop - offset) });
      offset += len;
    }
    return mine;
  }
  const ways = Math.ceil(parallelism / runs.length);
  const pieces: IndexRun[] = [];
  for (const r of runs) {
    for (let t = 0; t < ways; t++)
      pieces.push({ next: r.next + t * r.step, step: r.step * ways, end: r.end });
  }
  return pieces.filter((r, j) => j % parallelism === subtask && runLength(r) > 0);
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

  /** Set when this subtask reads runs other than its natural share (restored at another parallelism). */
  protected runs: IndexRun[] | undefined;

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    this.output = ctx.output;
    const states = (restored ?? [])
      .map((s) => s.operator as SourcePosition | SourceRuns | undefined)
      .filter((p): p is SourcePosition | SourceRuns => typeof p === 'object' && p !== null);
    const own = states.length === 1 ? states[0]! : undefined;
    if (own !== undefined && own.subtask === ctx.subtaskIndex && own.parallelism === ctx.parallelism) {
      // The same subtask at the same parallelism: it goes on where it was.
      if ('runs' in own) {
        this.runs = own.runs.map((r) => ({ ...r }));
        this.init(undefined);
      } else this.init(own.position);
      return;
    }
    if (states.length === 0) {
      this.init(undefined);
      return;
    }
    // Restored at another parallelism: every former subtask's state is here; take this subtask's share of what is left.
    const left: IndexRun[] = [];
    for (const p of states) {
      if ('runs' in p) {
        left.push(...p.runs);
        continue;
      }
      const run = this.naturalRun(p.subtask, p.parallelism, p.position);
      if (run === undefined) {
        // A source that cannot share out its work (Nexmark) starts its share afresh, keeping its own position format.
        this.init(undefined);
        return;
      }
      left.push(run);
    }
    this.runs = redistributeRuns(left, ctx.subtaskIndex, ctx.parallelism);
    this.init(undefined);
  }

  /** Sets up the subtask's share; `position` is a restored position if any (not called with one when {@link BaseSource.runs} is set). */
  protected abstract init(position: number | undefined): void;
  /** The current position, for snapshots. */
  protected abstract position(): number;
  /**
   * What is left of former subtask `subtask` of `parallelism` that had read
   * up to `position`, as a run; undefined for a source that cannot be
   * redistributed (it then starts this subtask's share afresh).
   */
  protected naturalRun(_subtask: number, _parallelism: number, _position: number): IndexRun | undefined {
    return undefined;
  }

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
    if (this.runs !== undefined) {
      const r: SourceRuns = {
        v: 2,
        subtask: this.ctx.subtaskIndex,
        parallelism: this.ctx.parallelism,
        runs: this.runs.map((x) => ({ ...x })),
      };
      return { operator: r };
    }
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
