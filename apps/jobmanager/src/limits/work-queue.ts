/**
 * Bounded concurrency with a bounded queue, for the JobManager's expensive
 * work (compiling uploads, plan-mode sandboxes): at most `concurrency` tasks
 * run, at most `queue` wait, and anything beyond is refused at once with a
 * {@link TooManyRequestsError} that says when to try again — so a burst of
 * requests costs a bounded amount of memory and CPU, and no request waits
 * into a timeout.
 */
import { TooManyRequestsError } from '@freshet/errors';

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** What the queue runs, for messages: `compiling uploads`. */
  what: string;
  /** Tasks run at the same time (≥ 1). */
  concurrency: number;
  /** Tasks that may wait (≥ 0). */
  queue: number;
  /** The settings that size the queue, named in the refusal: `--compile-concurrency / --compile-queue`. */
  settings: string;
}

/** A bounded work queue; see the module comment. */
export class WorkQueue {
  readonly #opts: WorkQueueOptions;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** Moving average of a task's duration, for Retry-After. */
  #averageMs = 1_000;

  constructor(opts: WorkQueueOptions) {
    this.#opts = opts;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Whether a task offered now would be refused. */
  get full(): boolean {
    return this.#running >= this.#opts.concurrency && this.#waiting.length >= this.#opts.queue;
  }

  /**
   * Throws the refusal when the queue is full (so a caller can refuse before
   * doing expensive work, such as reading an upload's body).
   *
   * @throws TooManyRequestsError when every place and the queue are taken
   */
  check(): void {
    if (!this.full) return;
    const { concurrency } = this.#opts;
    const retryAfterSeconds = Math.max(
      1,
      Math.ceil((this.#averageMs * (this.#waiting.length + concurrency)) / concurrency / 1000),
    );
    throw new TooManyRequestsError(
      `The JobManager is busy ${this.#opts.what} (${this.#running} running, ${this.#waiting.length} waiting); try again in ${retryAfterSeconds} s (limits: ${this.#opts.settings})`,
      retryAfterSeconds,
    );
  }

  /**
   * Runs `task` when a place is free.
   *
   * @throws TooManyRequestsError when every place and the queue are taken
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    this.check();
    if (this.#running >= this.#opts.concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    const started = performance.now();
    try {
      return await task();
    } finally {
      this.#averageMs = 0.8 * this.#averageMs + 0.2 * (performance.now() - started);
      // The place passes to the next waiter directly, so `running` never dips below what runs.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
