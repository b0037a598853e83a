/**
 * What a TaskManager process writes, kept for the dashboard: its stdout and
 * stderr (where `print()` sinks in its slots write, as Flink's TaskManager
 * `.out` file) and its log, line by line, in one bounded buffer that the
 * reporter drains to the JobManager in batches. Writing stays as it was: the
 * capture only tees. When lines arrive faster than they are sent, the oldest
 * are dropped and counted.
 */
import {
  MAX_OUTPUT_LINE_CHARS,
  MAX_OUTPUT_LINES_PER_REPORT,
  type OutputLine,
  type OutputStream,
} from '@freshet/protocol';

/** Options of {@link OutputCapture}. */
export interface OutputCaptureOptions {
  /** Lines held until sent; older ones are dropped. @default 2000 */
  capacity?: number;
  now?: () => number;
}

/** A batch of lines to send, and how many were dropped before them. */
export interface OutputBatch {
  lines: OutputLine[];
  dropped: number;
}

/** What {@link OutputCapture.teeProcessStreams} tees: `process.stdout` and `process.stderr`, by default. */
export interface TeeTargets {
  stdout: { write: (chunk: string | Uint8Array, ...rest: never[]) => boolean };
  stderr: { write: (chunk: string | Uint8Array, ...rest: never[]) => boolean };
}

/** Lines of a TaskManager's stdout, stderr and log waiting to be sent to the JobManager. */
export class OutputCapture {
  readonly #capacity: number;
  readonly #now: () => number;
  /** A ring: `#start` is the oldest line, `#size` lines are held. */
  readonly #ring: (OutputLine | undefined)[];
  #start = 0;
  #size = 0;
  #dropped = 0;
  /** An unfinished last line per stream (written without its newline yet). */
  readonly #partial: Record<OutputStream, string> = { stdout: '', stderr: '', log: '' };
  readonly #restore: (() => void)[] = [];

  constructor(options: OutputCaptureOptions = {}) {
    this.#capacity = options.capacity ?? 2000;
    this.#now = options.now ?? Date.now;
    this.#ring = new Array<OutputLine | undefined>(this.#capacity);
  }

  /** Takes text written to `stream`: complete lines are held, a trailing partial line waits for its end. */
  write(stream: OutputStream, text: string): void {
    const parts = (this.#partial[stream] + text).split('\n');
    this.#partial[stream] = parts.pop() ?? '';
    // A line longer than a report allows is cut; an endless partial line is let go as it is.
    if (this.#partial[stream].length > MAX_OUTPUT_LINE_CHARS) {
      parts.push(this.#partial[stream]);
      this.#partial[stream] = '';
    }
    const at = this.#now();
    for (const part of parts) {
      const line = part.endsWith('\r') ? part.slice(0, -1) : part;
      this.#add({
        stream,
        at,
        text: line.length > MAX_OUTPUT_LINE_CHARS ? `${line.slice(0, MAX_OUTPUT_LINE_CHARS - 1)}…` : line,
      });
    }
  }

  /** A destination for a logger (pino's `write(line)` contract): every log line is also held. */
  logStream(): { write(line: string): void } {
    return {
      write: (line: string) => {
        this.write('log', line);
      },
    };
  }

  /**
   * Tees `process.stdout` and `process.stderr`: what is written there still
   * goes out, and is held too (worker threads' output reaches the process
   * streams through these writes). Call {@link OutputCapture.restore} to undo.
   */
  teeProcessStreams(targets: TeeTargets = process): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const target = targets[stream];
      const original = target.write;
      const tee = (chunk: unknown, ...rest: unknown[]): boolean => {
        try {
          if (typeof chunk === 'string') this.write(stream, chunk);
          else if (chunk instanceof Uint8Array) this.write(stream, Buffer.from(chunk).toString('utf8'));
        } catch {
          // Capturing must never break writing.
        }
        return Reflect.apply(original, target, [chunk, ...rest]) as boolean;
      };
      target.write = tee;
      this.#restore.push(() => {
        if (target.write === tee) target.write = original;
      });
    }
  }

  /** Undoes {@link OutputCapture.teeProcessStreams}. */
  restore(): void {
    for (const undo of this.#restore.splice(0)) undo();
  }

  /** Whether lines (or a count of dropped ones) wait to be sent. */
  get pending(): boolean {
    return this.#size > 0 || this.#dropped > 0;
  }

  /** Takes the oldest lines (at most a report's worth) and the count dropped before them. */
  take(max = MAX_OUTPUT_LINES_PER_REPORT): OutputBatch {
    const n = Math.min(max, this.#size);
    const lines: OutputLine[] = new Array<OutputLine>(n);
    for (let i = 0; i < n; i++) {
      const slot = (this.#start + i) % this.#capacity;
      lines[i] = this.#ring[slot]!;
      this.#ring[slot] = undefined;
    }
    this.#start = (this.#start + n) % this.#capacity;
    this.#size -= n;
    const dropped = this.#dropped;
    this.#dropped = 0;
    return { lines, dropped };
  }

  /** Puts back a batch that could not be sent (as far as there is room: newer lines win). */
  putBack(batch: OutputBatch): void {
    this.#dropped += batch.dropped;
    for (let i = batch.lines.length - 1; i >= 0; i--) {
      if (this.#size === this.#capacity) {
        this.#dropped += i + 1;
        return;
      }
      this.#start = (this.#start + this.#capacity - 1) % this.#capacity;
      this.#ring[this.#start] = batch.lines[i];
      this.#size++;
    }
  }

  #add(line: OutputLine): void {
    if (this.#size === this.#capacity) {
      this.#ring[this.#start] = undefined;
      this.#start = (this.#start + 1) % this.#capacity;
      this.#size--;
      this.#dropped++;
    }
    this.#ring[(this.#start + this.#size) % this.#capacity] = line;
    this.#size++;
  }
}
