/**
 * The async I/O operator (Flink's AsyncWaitOperator): calls the user's
 * async function for every record, at most `capacity` requests in flight
 * and `capacity` records in its queue (in flight, or complete and waiting
 * for an earlier one); results are emitted in input order (ordered) or as they complete
 * (unordered, never across a watermark). At capacity it asks the task to
 * hold back input (`setBackpressured(true)`), so the task's slice ends after the
 * current batch and resumes when a request completes. The rest of that
 * batch waits in the queue, unissued, until a request completes.
 *
 * The queue holds records and watermarks in arrival order. A record entry
 * is settled by its Promise (or by its timeout), a watermark entry is passed
 * on once every record before it was emitted. One processing-time timer
 * serves every timeout: deadlines follow arrival order, so the timer always
 * waits for the oldest unsettled record. Results keep their input's
 * timestamp.
 *
 * Snapshots hold the inputs of every record not yet emitted, in order; a
 * restored operator issues them again after the function's `open`, so each
 * input gets its result exactly once downstream (state after a barrier is
 * replayed, output after a barrier belongs to the next checkpoint). At a
 * different parallelism each former subtask's inputs are issued by the one
 * new subtask that owns its state (`OperatorSnapshot.copy` marks the rest).
 */
import { defineErrorClass, UnavailableError } from '@freshet/errors';
import type { AsyncSpec } from '@freshet/graph';
import type { OperatorContext, OperatorSnapshot } from '../operator.js';
import { AbstractOperator } from './base.js';
import { OperatorUsageError, UserFunctionError } from './errors.js';
import { resolveOptionalMethod } from './functions.js';

/** A request of async I/O got no result within its timeout (and the function has no `timeout`). */
export class AsyncIoTimeoutError extends UnavailableError<{ operatorName: string; timeoutMs: number }> {
  static {
    defineErrorClass(this, 'AsyncIoTimeoutError', 'UNAVAILABLE');
  }
}

const RECORD = 0;
const WATERMARK = 1;

/** One element of the queue. */
interface Entry {
  kind: typeof RECORD | typeof WATERMARK;
  /** The input record, or the watermark. */
  value: unknown;
  timestamp: number;
  /** Unordered: the number of watermarks before this record. */
  segment: number;
  /** Processing time after which the record times out (+Infinity until it is issued). */
  deadline: number;
  /** Attempts made so far. */
  attempt: number;
  /** Bumped on every attempt and at the timeout, so that a late settlement of an earlier one is ignored. */
  gen: number;
  settled: boolean;
  emitted: boolean;
  result: unknown;
}

type AsyncFn = (input: unknown) => unknown;

/** Retry predicates from the API's AsyncRetryStrategy. */
interface RetryFns {
  retryOnResult?: (result: unknown) => boolean;
  retryOnError?: (error: unknown) => boolean;
}

/** Async I/O, ordered or unordered. */
export class AsyncWaitOperator extends AbstractOperator {
  private spec!: AsyncSpec;
  private invokeFn!: AsyncFn;
  private timeoutFn: ((input: unknown) => unknown) | undefined;
  private retry: RetryFns = {};
  private readonly queue: Entry[] = [];
  /** Index of the oldest entry not yet passed on. */
  private head = 0;
  /** Records issued and not yet settled. */
  private inFlight = 0;
  /** Records in the queue, settled or not, not yet emitted: what `capacity` bounds (as Flink's queue). */
  private queued = 0;
  /** Unordered: the segment (watermarks seen) new records belong to, and the oldest not fully emitted. */
  private segment = 0;
  private headSegment = 0;
  private gen = 0;
  private blocked = false;
  private closed = false;
  private timeoutAt = Number.POSITIVE_INFINITY;
  private cancelTimeout: (() => void) | undefined;
  private readonly retryTimers = new Set<() => void>();
  private onDrained: (() => void) | undefined;
  /** Records queued beyond capacity, issued as requests complete (in queue order). */
  private readonly unissued: Entry[] = [];
  private unissuedHead = 0;
  /** Inputs restored from a checkpoint, issued again once the function is open. */
  private restoredInputs: [unknown, number][] = [];

  protected setup(): void {
    const spec = this.node.spec.async;
    if (!spec) throw new OperatorUsageError(`Operator '${this.name}' (async) has no spec.async`);
    this.spec = spec;
    const fn = this.node.fns.fn;
    this.invokeFn = this.userFunction<AsyncFn>(fn, 'asyncInvoke');
    this.timeoutFn = resolveOptionalMethod<(input: unknown) => unknown>(fn, 'timeout');
    const retry = this.node.fns.retry as RetryFns | undefined;
    if (retry) this.retry = retry;
  }

  override open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    super.open(ctx, restored);
    const inputs = this.restoredInputs;
    this.restoredInputs = [];
    for (const [value, timestamp] of inputs) this.enqueue(value, timestamp);
    this.checkCapacity();
  }

  protected override restoreOperatorState(restored: readonly OperatorSnapshot[]): void {
    // A rescale restores each former subtask's requests in flight in the one new subtask that owns
    // them (the others get a copy), so no input is issued twice or lost.
    const all: [unknown, number][] = [];
    for (const s of restored) {
      if (s.copy === true) continue;
      for (const e of (s.operator as [unknown, number | null][] | undefined) ?? [])
        all.push([e[0], e[1] ?? Number.NEGATIVE_INFINITY]);
    }
    this.restoredInputs = all;
  }

  protected override snapshotOperatorState(): unknown {
    const out: [unknown, number][] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === RECORD && !e.emitted) out.push([e.value, e.timestamp]);
    }
    for (const [value, timestamp] of this.restoredInputs) out.push([value, timestamp]);
    return out.length > 0 ? out : undefined;
  }

  processElement(value: unknown, timestamp: number): void {
    this.enqueue(value, timestamp);
    this.checkCapacity();
  }

  override processWatermark(watermark: number): void {
    if (this.head === this.queue.length) {
      super.processWatermark(watermark);
      return;
    }
    this.queue.push(this.entry(WATERMARK, watermark, 0, 0));
    this.segment++;
  }

  finishPending(done: () => void): boolean {
    if (this.head === this.queue.length) return false;
    this.onDrained = done;
    return true;
  }

  override close(): void {
    this.closed = true;
    this.cancelTimeout?.();
    for (const cancel of this.retryTimers) cancel();
    this.retryTimers.clear();
    super.close();
  }

  /** Records issued and not yet emitted (for tests). */
  get pendingRequests(): number {
    return this.queued;
  }

  // ------------------------------------------------------------ requests

  private entry(kind: Entry['kind'], value: unknown, timestamp: number, deadline: number): Entry {
    return {
      kind,
      value,
      timestamp,
      segment: this.segment,
      deadline,
      attempt: 0,
      gen: 0,
      settled: false,
      emitted: false,
      result: undefined,
    };
  }

  /** Queues a record and issues its request now, or once one in flight completes (at capacity). */
  private enqueue(value: unknown, timestamp: number): void {
    const e = this.entry(RECORD, value, timestamp, Number.POSITIVE_INFINITY);
    this.queue.push(e);
    this.queued++;
    if (this.inFlight < this.spec.capacity && this.unissuedHead === this.unissued.length) this.issue(e);
    else this.unissued.push(e);
  }

  private issue(e: Entry): void {
    e.deadline = this.ctx.processingTime.now() + this.spec.timeoutMs;
    this.inFlight++;
    this.invoke(e);
    this.armTimeout();
  }

  /** Issues waiting records while there is room in flight. */
  private issueWaiting(): void {
    const waiting = this.unissued;
    while (this.unissuedHead < waiting.length && this.inFlight < this.spec.capacity && !this.closed) {
      const e = waiting[this.unissuedHead]!;
      waiting[this.unissuedHead++] = undefined as unknown as Entry;
      this.issue(e);
    }
    if (this.unissuedHead === waiting.length) {
      waiting.length = 0;
      this.unissuedHead = 0;
    }
  }

  private invoke(e: Entry): void {
    const gen = ++this.gen;
    e.gen = gen;
    e.attempt++;
    let promise: unknown;
    try {
      promise = this.invokeFn(e.value);
    } catch (error) {
      this.rejected(e, gen, error);
      return;
    }
    if (typeof (promise as PromiseLike<unknown> | null)?.then !== 'function') {
      this.fulfilled(e, gen, promise);
      return;
    }
    // One pair of callbacks per request: the request's own Promise already costs more.
    // Emitting from here runs the rest of the chain: a failure there fails the task, not the Promise.
    (promise as PromiseLike<unknown>).then(
      (result) => {
        try {
          this.fulfilled(e, gen, result);
        } catch (error) {
          this.failTask(error);
        }
      },
      (error: unknown) => {
        try {
          this.rejected(e, gen, error);
        } catch (chainError) {
          this.failTask(chainError);
        }
      },
    );
  }

  private fulfilled(e: Entry, gen: number, result: unknown): void {
    if (this.closed || e.gen !== gen || e.settled) return;
    let again = false;
    try {
      again = this.retry.retryOnResult?.(result) === true;
    } catch (error) {
      this.failTask(new UserFunctionError(this.name, 'retry ifResult', error));
      return;
    }
    if (again && this.retryLater(e)) return;
    this.settle(e, result);
  }

  private rejected(e: Entry, gen: number, error: unknown): void {
    if (this.closed || e.gen !== gen || e.settled) return;
    let again: boolean;
    try {
      again = this.retry.retryOnError?.(error) ?? true;
    } catch (predicateError) {
      this.failTask(new UserFunctionError(this.name, 'retry ifException', predicateError));
      return;
    }
    if (again && this.retryLater(e)) return;
    this.failTask(new UserFunctionError(this.name, 'asyncInvoke', error));
  }

  /** Schedules the next attempt if the strategy allows one before the deadline; false otherwise. */
  private retryLater(e: Entry): boolean {
    const r = this.spec.retry;
    if (r.type === 'none' || e.attempt >= r.maxAttempts) return false;
    const delay =
      r.type === 'fixed-delay'
        ? r.delayMs
        : Math.min(r.maxDelayMs, r.initialDelayMs * r.multiplier ** (e.attempt - 1));
    const at = this.ctx.processingTime.now() + delay;
    if (at >= e.deadline) return false;
    // Late settlements of this attempt are ignored from now on.
    const gen = ++this.gen;
    e.gen = gen;
    const cancel = this.ctx.processingTime.schedule(at, () => {
      this.retryTimers.delete(cancel);
      if (!this.closed && e.gen === gen && !e.settled) this.invoke(e);
    });
    this.retryTimers.add(cancel);
    return true;
  }

  private settle(e: Entry, result: unknown): void {
    e.settled = true;
    e.result = result;
    this.inFlight--;
    if (!this.spec.ordered && e.segment === this.headSegment) this.emitRecord(e);
    this.advance();
    this.afterProgress();
  }

  /** Passes on what the queue allows, from its head. */
  private advance(): void {
    const q = this.queue;
    const ordered = this.spec.ordered;
    while (this.head < q.length) {
      const e = q[this.head]!;
      if (e.kind === RECORD) {
        if (e.emitted) {
          this.head++;
          continue;
        }
        if (!e.settled || !ordered) return;
        this.emitRecord(e);
        this.head++;
        continue;
      }
      // A watermark: every record before it was emitted.
      this.head++;
      super.processWatermark(e.value as number);
      if (!ordered) {
        this.headSegment++;
        for (let i = this.head; i < q.length; i++) {
          const r = q[i]!;
          if (r.kind === WATERMARK) break;
          if (r.settled && !r.emitted) this.emitRecord(r);
        }
      }
    }
    // Everything passed on: start the queue afresh rather than let it grow.
    q.length = 0;
    this.head = 0;
  }

  private emitRecord(e: Entry): void {
    e.emitted = true;
    this.queued--;
    const result = e.result;
    e.result = undefined;
    e.value = undefined;
    this.output.collect(result, e.timestamp);
  }

  /** After a request settled: resume input below capacity, re-arm the timeout, finish a drain. */
  private afterProgress(): void {
    if (this.closed) return;
    this.issueWaiting();
    this.checkCapacity();
    this.armTimeout();
    if (this.onDrained && this.head === this.queue.length) {
      const done = this.onDrained;
      this.onDrained = undefined;
      done();
    }
  }

  private checkCapacity(): void {
    const full = this.queued >= this.spec.capacity;
    if (full === this.blocked) return;
    this.blocked = full;
    this.ctx.setBackpressured?.(full);
  }

  // ------------------------------------------------------------ timeouts

  /** The oldest record not settled yet (deadlines follow arrival order). */
  private oldestUnsettled(): Entry | undefined {
    const q = this.queue;
    for (let i = this.head; i < q.length; i++) {
      const e = q[i]!;
      if (e.kind === RECORD && !e.settled) return e;
    }
    return undefined;
  }

  private armTimeout(): void {
    const next =
      this.inFlight > 0
        ? (this.oldestUnsettled()?.deadline ?? Number.POSITIVE_INFINITY)
        : Number.POSITIVE_INFINITY;
    if (next === this.timeoutAt) return;
    this.cancelTimeout?.();
    this.cancelTimeout = undefined;
    this.timeoutAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.cancelTimeout = this.ctx.processingTime.schedule(next, (time) => {
      this.cancelTimeout = undefined;
      this.timeoutAt = Number.POSITIVE_INFINITY;
      this.onTimeouts(time);
    });
  }

  private onTimeouts(time: number): void {
    if (this.closed) return;
    const q = this.queue;
    for (let i = this.head; i < q.length; i++) {
      const e = q[i]!;
      if (e.kind !== RECORD || e.settled) continue;
      if (e.deadline > time) break;
      e.gen = ++this.gen;
      if (!this.timeoutFn) {
        this.failTask(
          new AsyncIoTimeoutError(
            `Async I/O in '${this.name}': a request got no result within ${this.spec.timeoutMs} ms; ` +
              'raise the timeout, or give the function a timeout(input) method that returns a fallback result',
            { details: { operatorName: this.name, timeoutMs: this.spec.timeoutMs } },
          ),
        );
        return;
      }
      let fallback: unknown;
      try {
        fallback = this.timeoutFn(e.value);
      } catch (error) {
        this.failTask(new UserFunctionError(this.name, 'timeout', error));
        return;
      }
      this.settle(e, fallback);
      if (this.closed) return;
    }
    this.armTimeout();
  }

  private failTask(error: unknown): void {
    if (this.closed) return;
    const fail = this.ctx.failTask;
    if (fail) fail(error);
    else throw error;
  }
}
