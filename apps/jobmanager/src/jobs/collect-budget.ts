/**
 * Bytes of collected records the JobManager holds in memory, over every job:
 * the record counts (`--collect-limit-per-job`, `--collect-limit-total`)
 * bound how many records are kept, this bounds how large they may be
 * together (`--collect-limit-bytes`), so a TaskManager sending a few huge
 * records cannot fill the JobManager's heap.
 */

/** Collected bytes kept unless configured: 64 MiB. */
export const COLLECT_LIMIT_BYTES = 64 * 1024 * 1024;

/** The size of a record as the JobManager holds and serves it (its JSON; UTF-16 code units, near enough). */
function sizeOf(value: unknown): number {
  return JSON.stringify(value)?.length ?? 4;
}

/** A byte budget shared by the jobs in memory. */
export class CollectBudget {
  readonly #limit: number;
  readonly #held = new WeakMap<object, number>();
  #total = 0;

  constructor(limitBytes: number = COLLECT_LIMIT_BYTES) {
    this.#limit = limitBytes;
  }

  /** Bytes held over every job. */
  get total(): number {
    return this.#total;
  }

  /**
   * How many of the first `count` of `values` fit (in order), charged to
   * `job`; the first record that does not fit ends the run.
   */
  take(job: object, values: readonly unknown[], count: number): number {
    let taken = 0;
    let bytes = 0;
    for (; taken < count; taken++) {
      const size = sizeOf(values[taken]);
      if (this.#total + bytes + size > this.#limit) break;
      bytes += size;
    }
    this.#total += bytes;
    this.#held.set(job, (this.#held.get(job) ?? 0) + bytes);
    return taken;
  }

  /** Gives back what `job` held (it left memory). */
  release(job: object): void {
    this.#total -= this.#held.get(job) ?? 0;
    this.#held.delete(job);
  }
}
