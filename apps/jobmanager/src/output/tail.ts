/**
 * The live output of jobs: the latest records of each job's sinks, as text,
 * in a ring buffer per job, numbered so a reader asks for what came after
 * the last record it saw (the dashboard's Output tab tails it). Unlike the
 * collected results (`jobs.collected`, the first records, for a client that
 * wants the result), this keeps the newest and forgets the oldest. Memory is
 * bounded: records per job, characters per record, and the number of jobs
 * (the least recently written job's tail goes first, so ended jobs keep
 * their last records until newer jobs need the room).
 */

/** One record of a job's output. */
export interface OutputRecord {
  /** 1, 2, 3… per job, in arrival order. */
  seq: number;
  /** The sink it came from: a collect sink's id. */
  sink: string;
  /** Epoch ms when the JobManager received it. */
  at: number;
  /** The record as JSON, cut to {@link OutputTailsOptions.maxRecordChars}. */
  text: string;
}

/** What {@link OutputTails.read} returns. */
export interface OutputPage {
  records: OutputRecord[];
  /** The highest seq so far (0 before any record): pass it as `after` next time. */
  latestSeq: number;
  /** Records after `after` that the buffer no longer holds (overwritten before they were read). */
  dropped: number;
  /** Sinks seen so far. */
  sinks: string[];
  /** Records the buffer holds at most. */
  capacity: number;
}

/** Bounds of {@link OutputTails}. */
export interface OutputTailsOptions {
  /** Records kept per job. @default 1000 */
  recordsPerJob?: number;
  /** Jobs whose output is kept. @default 64 */
  maxJobs?: number;
  /** Characters kept of one record's JSON. @default 2000 */
  maxRecordChars?: number;
  now?: () => number;
}

interface Tail {
  ring: (OutputRecord | undefined)[];
  /** seq of the last record written. */
  seq: number;
  sinks: Set<string>;
}

function toText(value: unknown, max: number): string {
  let text: string;
  try {
    text =
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The latest output records of the jobs in this JobManager's memory. */
export class OutputTails {
  /** Insertion order is recency: a write moves the job to the end. */
  readonly #tails = new Map<string, Tail>();
  readonly #capacity: number;
  readonly #maxJobs: number;
  readonly #maxChars: number;
  readonly #now: () => number;

  constructor(options: OutputTailsOptions = {}) {
    this.#capacity = options.recordsPerJob ?? 1000;
    this.#maxJobs = options.maxJobs ?? 64;
    this.#maxChars = options.maxRecordChars ?? 2000;
    this.#now = options.now ?? Date.now;
  }

  /** Appends records of one sink; only the last `recordsPerJob` of a job stay. */
  push(jobId: string, sink: string, values: readonly unknown[]): void {
    const at = this.#now();
    this.#append(jobId, sink, values.length, (i) => ({ at, text: toText(values[i], this.#maxChars) }));
  }

  /**
   * Appends lines of text as they are (a TaskManager's stdout or log, not
   * records to show as JSON), cut to `maxRecordChars`, each stamped with its own time.
   */
  pushText(key: string, sink: string, lines: readonly { text: string; at: number }[]): void {
    const max = this.#maxChars;
    this.#append(key, sink, lines.length, (i) => {
      const { text, at } = lines[i]!;
      return { at, text: text.length > max ? `${text.slice(0, max)}…` : text };
    });
  }

  #append(
    key: string,
    sink: string,
    count: number,
    entry: (i: number) => { at: number; text: string },
  ): void {
    let tail = this.#tails.get(key);
    if (tail === undefined) {
      tail = { ring: new Array<OutputRecord | undefined>(this.#capacity), seq: 0, sinks: new Set() };
    } else {
      this.#tails.delete(key);
    }
    this.#tails.set(key, tail);
    while (this.#tails.size > this.#maxJobs) this.#tails.delete(this.#tails.keys().next().value!);
    tail.sinks.add(sink);
    // Only the last `capacity` values can survive this call: skip the rest without formatting them.
    const first = Math.max(0, count - this.#capacity);
    tail.seq += first;
    for (let i = first; i < count; i++) {
      const seq = ++tail.seq;
      tail.ring[seq % this.#capacity] = { seq, sink, ...entry(i) };
    }
  }

  /**
   * A destination for a logger (pino's `write(line)` contract) that appends
   * each line, without its newline, to the tail `key`.
   */
  lineSink(key: string, sink: string): { write(line: string): void } {
    return {
      write: (line: string) => {
        this.pushText(key, sink, [{ text: line.endsWith('\n') ? line.slice(0, -1) : line, at: this.#now() }]);
      },
    };
  }

  /** Whether a job's output is in memory. */
  has(jobId: string): boolean {
    return this.#tails.has(jobId);
  }

  /**
   * Records after seq `after` (all that are held for 0), oldest first, at
   * most `limit`, of `sink` only when given.
   */
  read(jobId: string, after = 0, limit = this.#capacity, sink?: string): OutputPage {
    const tail = this.#tails.get(jobId);
    if (tail === undefined)
      return { records: [], latestSeq: 0, dropped: 0, sinks: [], capacity: this.#capacity };
    const oldest = Math.max(1, tail.seq - this.#capacity + 1);
    const from = Math.max(after + 1, oldest);
    const records: OutputRecord[] = [];
    for (let seq = from; seq <= tail.seq && records.length < limit; seq++) {
      const record = tail.ring[seq % this.#capacity];
      if (record !== undefined && record.seq === seq && (sink === undefined || record.sink === sink))
        records.push(record);
    }
    return {
      records,
      latestSeq: tail.seq,
      dropped: Math.max(0, from - after - 1),
      sinks: [...tail.sinks].sort(),
      capacity: this.#capacity,
    };
  }
}
