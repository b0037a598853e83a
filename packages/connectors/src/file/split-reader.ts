/**
 * Reads the records of one file split: a byte range `[start, end)` of a
 * file, cut at newlines (outside quotes, for CSV). A record belongs to the
 * split whose range holds its first byte (Hadoop's rule): a split that
 * starts inside a record skips to the next one, and the last record a
 * split reads may run past its end. So every record of a file is read by
 * exactly one split, however the file was cut.
 *
 * Reads are synchronous, in 64 KiB chunks, on the task's thread (the
 * subtask owns its files; a slice reads a chunk or two).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { RecordFormat } from './formats.js';

/** A split of a file, with its position. */
export interface FileSplit {
  readonly splitId: string;
  /** Absolute path. */
  path: string;
  /** First byte of the range. */
  start: number;
  /** Records starting at or after this byte belong to the next split. */
  end: number;
  /** Byte offset of the next record to read. */
  offset: number;
  /** 1-based line number of the next record; 0 when unknown (a range that starts inside the file). */
  line: number;
  /** The split starts inside the file and has not yet skipped the record cut by its start. */
  skipFirst: boolean;
  /** What the format keeps for the split (a CSV header). */
  format?: Record<string, unknown>;
}

const CHUNK = 64 * 1024;
const NEWLINE = 10;

/** One run of complete records in a buffer. */
export interface RecordRun {
  buf: Buffer;
  starts: number[];
  ends: number[];
  /** File offset after each record (its line end included). */
  nextOffsets: number[];
  /** Newlines inside each record (CSV records with quoted newlines); 0 otherwise. */
  innerLines: number[];
  count: number;
}

/** Reads records of one split in runs. */
export class SplitReading {
  private fd: number;
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of `buf[0]`. */
  private bufStart: number;
  /** Index in `buf` of the next unread byte. */
  private pos = 0;
  private eof = false;
  /** The split's records are all read. */
  done = false;
  private readonly quote: number;
  private readonly escape: number;
  private readonly run: RecordRun = {
    buf: this.buf,
    starts: [],
    ends: [],
    nextOffsets: [],
    innerLines: [],
    count: 0,
  };

  constructor(
    readonly split: FileSplit,
    format: RecordFormat<unknown>,
  ) {
    this.fd = openSync(split.path, 'r');
    this.quote = format.quote === undefined ? -1 : format.quote.charCodeAt(0);
    this.escape = format.escape === undefined ? this.quote : format.escape.charCodeAt(0);
    this.bufStart = split.offset;
    if (split.skipFirst) this.skipCutRecord();
  }

  /** Moves the offset past the record that began before the split's start (lines only: CSV is never split). */
  private skipCutRecord(): void {
    const s = this.split;
    const one = Buffer.alloc(1);
    let at = s.start - 1;
    if (readSync(this.fd, one, 0, 1, at) === 1 && one[0] === NEWLINE) {
      s.offset = s.start;
    } else {
      for (;;) {
        const chunk = Buffer.allocUnsafe(CHUNK);
        const n = readSync(this.fd, chunk, 0, CHUNK, at);
        if (n === 0) {
          s.offset = at;
          break;
        }
        const i = chunk.subarray(0, n).indexOf(NEWLINE);
        if (i >= 0) {
          s.offset = at + i + 1;
          break;
        }
        at += n;
      }
    }
    s.skipFirst = false;
    this.bufStart = s.offset;
  }

  /** Reads more bytes behind what is left unread. */
  private fill(): boolean {
    if (this.eof) return false;
    const chunk = Buffer.allocUnsafe(CHUNK);
    const n = readSync(this.fd, chunk, 0, CHUNK, this.bufStart + this.buf.length);
    if (n === 0) {
      this.eof = true;
      return false;
    }
    const rest = this.buf.subarray(this.pos);
    this.bufStart += this.pos;
    this.pos = 0;
    this.buf = rest.length === 0 ? chunk.subarray(0, n) : Buffer.concat([rest, chunk.subarray(0, n)]);
    return true;
  }

  /** Index of the end of the record starting at `from` (its newline), or -1 if it is not complete in the buffer. */
  private recordEnd(from: number, inner: { lines: number }): number {
    const buf = this.buf;
    if (this.quote < 0) return buf.indexOf(NEWLINE, from);
    const q = this.quote;
    const esc = this.escape;
    let quoted = false;
    let lines = 0;
    for (let i = from; i < buf.length; i++) {
      const b = buf[i]!;
      if (quoted) {
        if (b === esc && esc !== q && i + 1 < buf.length) i++;
        else if (b === q) {
          if (esc === q && i + 1 < buf.length && buf[i + 1] === q) i++;
          else if (esc === q && i + 1 >= buf.length && !this.eof)
            return -1; // a doubled quote may straddle the chunk
          else quoted = false;
        } else if (b === NEWLINE) lines++;
      } else if (b === q) quoted = true;
      else if (b === NEWLINE) {
        inner.lines = lines;
        return i;
      }
    }
    return -1;
  }

  /** The next run of up to `max` complete records (count 0 when the split is done). */
  next(max: number): RecordRun {
    const run = this.run;
    run.starts.length = 0;
    run.ends.length = 0;
    run.nextOffsets.length = 0;
    run.innerLines.length = 0;
    run.count = 0;
    const inner = { lines: 0 };
    while (run.count < max && !this.done) {
      const startOffset = this.bufStart + this.pos;
      if (startOffset >= this.split.end) {
        this.done = true;
        break;
      }
      inner.lines = 0;
      let e = this.recordEnd(this.pos, inner);
      if (e < 0) {
        // Nothing complete in the buffer: read more, unless this run already has records to hand out.
        if (run.count > 0) break;
        if (this.fill()) continue;
        // End of file: the last record has no newline.
        if (this.pos >= this.buf.length) {
          this.done = true;
          break;
        }
        e = this.buf.length;
      }
      run.buf = this.buf;
      run.starts.push(this.pos);
      run.ends.push(e);
      run.innerLines.push(inner.lines);
      const next = Math.min(e + 1, this.buf.length);
      run.nextOffsets.push(this.bufStart + next);
      run.count++;
      this.pos = next;
    }
    return run;
  }

  /** Reads the first record alone (a CSV header); undefined for an empty file. */
  firstRecord(): { bytes: Buffer; nextOffset: number; innerLines: number } | undefined {
    const run = this.next(1);
    if (run.count === 0) return undefined;
    return {
      bytes: Buffer.from(run.buf.subarray(run.starts[0], run.ends[0])),
      nextOffset: run.nextOffsets[0]!,
      innerLines: run.innerLines[0]!,
    };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
