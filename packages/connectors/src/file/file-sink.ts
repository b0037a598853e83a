/**
 * `FileSink`: rows into part files, exactly once (Flink's FileSink
 * protocol), on the writer/committer framework.
 *
 * ```ts
 * stream.sinkTo(
 *   FileSink.forRowFormat('/data/out', RowEncoders.jsonLines<Event>())
 *     .withBucketAssigner(BucketAssigners.eventTimeHourly())
 *     .withRollingPolicy({ maxPartSizeBytes: 64 << 20, rolloverIntervalMs: 15 * 60_000 })
 *     .build(),
 * );
 * ```
 *
 * 1. Records go to an in-progress file per bucket (a subdirectory chosen by
 *    the bucket assigner, e.g. `dt=2024-05-01/hour=13`):
 *    `.part-<subtask>-<counter>.<ext>.inprogress-<attempt>` (hidden: the dot).
 * 2. The rolling policy closes a file when it reaches a size, is open for a
 *    time, or got nothing for a time; every checkpoint closes them all. A
 *    closed file is *pending*: it is a committable of the next checkpoint.
 * 3. When that checkpoint completes the committer renames it to
 *    `part-<subtask>-<counter>.<ext>`; a reader only ever sees committed,
 *    complete part files.
 * 4. On restore the pending files of the restored checkpoint are committed
 *    (idempotent: a file committed before the failure is left as it is),
 *    then the writer deletes the subtask's other in-progress files — written
 *    after that checkpoint, their records come again — and continues the
 *    counter after the highest committed part.
 *
 * Files are written with synchronous, buffered writes from the task thread
 * and are not fsynced: the guarantee holds across process failures, not a
 * crash of the machine. Without checkpointing, part files are committed at
 * the end of bounded input (an unbounded job then never commits).
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Committer, ConnectorSink, SinkWriter, SinkWriterContext } from '@freshet/api';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { ConnectorConfigError, ConnectorUnavailableError } from '../errors.js';
import { FreshetError, defineErrorClass } from '@freshet/errors';

/** Turns a record into one line of a part file. */
export interface RowEncoder<T> {
  /** Phantom field carrying the record type; never set. */
  readonly __type?: (value: T) => void;
  /** File name extension of the part files, without the dot. */
  readonly extension: string;
  /** The encoder as plain data (for the plan). */
  readonly description: string;
  /** The line for `value` (without the newline). */
  encode(value: T): string;
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
}

/** Ready-made row encoders. */
export const RowEncoders = {
  /** One JSON document per line (bigints as decimal strings, `undefined` as `null`). */
  jsonLines<T = unknown>(): RowEncoder<T> {
    return { extension: 'jsonl', description: 'jsonLines', encode: jsonText };
  },
  /** Strings as they are, other values as JSON. */
  text<T = unknown>(): RowEncoder<T> {
    return {
      extension: 'txt',
      description: 'text',
      encode: (value: T) => {
        if (typeof value === 'string') return value;
        if (value === undefined) return 'undefined';
        try {
          return jsonText(value);
        } catch {
          return Object.prototype.toString.call(value);
        }
      },
    };
  },
  /**
   * CSV rows through `csv-stringify` (fields quoted where needed): `columns`
   * names the fields of object records, in order; array records are written
   * as they are.
   */
  csv<T = unknown>(opts: { columns?: readonly string[]; delimiter?: string } = {}): RowEncoder<T> {
    const columns = opts.columns === undefined ? undefined : [...opts.columns];
    const delimiter = opts.delimiter ?? ',';
    return {
      extension: 'csv',
      description: 'csv',
      encode: (value: T) => {
        const row = Array.isArray(value)
          ? (value as unknown[])
          : columns !== undefined
            ? columns.map((c) => (value as Record<string, unknown>)[c])
            : Object.values(value as Record<string, unknown>);
        return stringifyCsv([row], {
          delimiter,
          eof: false,
          cast: { boolean: (b) => String(b), object: (o) => jsonText(o) },
        });
      },
    };
  },
} as const;

/** Chooses the bucket (a relative directory, '' for the base) of a record. */
export type BucketAssigner<T> = (value: T, context: { timestamp: number; now: number }) => string;

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Ready-made bucket assigners. */
export const BucketAssigners = {
  /** Every record in the base directory. */
  basePath<T = unknown>(): BucketAssigner<T> {
    return () => '';
  },
  /** `dt=YYYY-MM-DD/hour=HH` (UTC) of the record's event time; records without one go by processing time. */
  eventTimeHourly<T = unknown>(): BucketAssigner<T> {
    return (_value, { timestamp, now }) => hourBucket(Number.isFinite(timestamp) ? timestamp : now);
  },
  /** `dt=YYYY-MM-DD/hour=HH` (UTC) of the time the record is written. */
  processingTimeHourly<T = unknown>(): BucketAssigner<T> {
    return (_value, { now }) => hourBucket(now);
  },
} as const;

function hourBucket(ms: number): string {
  const d = new Date(ms);
  return `dt=${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}`;
}

/** When a part file is closed (besides at every checkpoint). */
export interface RollingPolicy {
  /** Close a part file at this size. @default 128 MiB */
  maxPartSizeBytes?: number;
  /** Close a part file open this long. @default 60000 */
  rolloverIntervalMs?: number;
  /** Close a part file that got no record for this long. @default 60000 */
  inactivityIntervalMs?: number;
}

/** A closed part file, to be committed. */
export interface PendingFile {
  /** The in-progress file, relative to the base directory. */
  file: string;
  /** The committed name, relative to the base directory. */
  part: string;
}

/** The writer's state. */
export interface FileSinkWriterState {
  subtask: number;
  /** Counter of the next part file. */
  nextCounter: number;
}

/** A pending file of a restored checkpoint is neither in progress nor committed: its records are gone. */
export class FileSinkRestoreError extends FreshetError {
  static {
    defineErrorClass(this, 'FileSinkRestoreError', 'FAILED_PRECONDITION');
  }
}

interface Settings {
  dir: string;
  bucket: BucketAssigner<unknown> | undefined;
  maxPartSizeBytes: number;
  rolloverIntervalMs: number;
  inactivityIntervalMs: number;
  overwrite: boolean;
}

const FLUSH_BYTES = 64 * 1024;

/** Every file name the sink uses, with its subtask. */
const OWN_FILE = /^\.?part-(\d+)(?:-\d+)?\.[A-Za-z0-9]+(?:\.inprogress-\d+)?$/;
const IN_PROGRESS = /^\.part-(\d+)-\d+\.[A-Za-z0-9]+\.inprogress-\d+$/;
const COMMITTED = /^part-(\d+)-(\d+)\.[A-Za-z0-9]+$/;

/** Every file under `dir` (relative paths), skipping nothing but what cannot be listed. */
function walk(dir: string, base = dir, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw error;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) walk(full, base, out);
    else out.push(relative(base, full));
  }
  return out;
}

function baseName(rel: string): string {
  const i = rel.lastIndexOf(sep);
  return i < 0 ? rel : rel.slice(i + 1);
}

interface Open {
  fd: number;
  file: string;
  part: string;
  bytes: number;
  openedAt: number;
  lastWriteAt: number;
  chunks: string[];
  buffered: number;
}

class FileSinkWriter<T> implements SinkWriter<T, PendingFile, FileSinkWriterState> {
  private readonly open = new Map<string, Open>();
  private closed: PendingFile[] = [];
  private nextCounter: number;
  private cancelTimer: (() => void) | undefined;
  private readonly madeDirs = new Set<string>();

  constructor(
    private readonly s: Settings,
    private readonly encoder: RowEncoder<T>,
    private readonly ctx: SinkWriterContext,
    private readonly restored: readonly FileSinkWriterState[],
  ) {
    let next = 0;
    for (const r of restored) if (r.subtask === ctx.subtaskIndex) next = Math.max(next, r.nextCounter);
    this.nextCounter = next;
  }

  /** Cleans up after the restored checkpoint's commits (or a previous run), once they are done. */
  start(): void {
    const { dir } = this.s;
    this.makeDirectory(dir);
    const me = this.ctx.subtaskIndex;
    const files = walk(dir);
    if (this.restored.length === 0 && this.s.overwrite) {
      this.remove(
        files,
        (subtask) => subtask === me || (me === 0 && subtask >= this.ctx.parallelism),
        OWN_FILE,
      );
    } else {
      // What older attempts wrote after the restored checkpoint (or a previous run left in progress).
      this.remove(files, (subtask) => subtask === me, IN_PROGRESS);
      for (const f of files) {
        const m = COMMITTED.exec(baseName(f));
        if (m && Number(m[1]) === me) this.nextCounter = Math.max(this.nextCounter, Number(m[2]) + 1);
      }
    }
    const period = Math.min(this.s.rolloverIntervalMs, this.s.inactivityIntervalMs);
    if (Number.isFinite(period) && period > 0) this.arm(period);
  }

  private arm(period: number): void {
    this.cancelTimer = this.ctx.schedule(this.ctx.now() + period, (time) => {
      this.rollByTime(time);
      this.arm(period);
    });
  }

  private remove(files: readonly string[], mine: (subtask: number) => boolean, pattern: RegExp): void {
    for (const f of files) {
      const m = pattern.exec(baseName(f));
      if (!m || !mine(Number(m[1]))) continue;
      try {
        unlinkSync(join(this.s.dir, f));
      } catch (error) {
        // Another subtask (of a wider previous run's index) may have taken it already.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }

  write(value: T, timestamp: number): void {
    const now = this.ctx.now();
    const bucket = this.s.bucket === undefined ? '' : this.s.bucket(value, { timestamp, now });
    let o = this.open.get(bucket);
    if (o === undefined) {
      o = this.openPart(bucket, now);
      this.open.set(bucket, o);
    }
    const line = this.encoder.encode(value);
    o.chunks.push(line);
    o.buffered += line.length + 1;
    o.lastWriteAt = now;
    if (o.buffered >= FLUSH_BYTES) {
      this.flushOne(o);
      if (o.bytes >= this.s.maxPartSizeBytes) this.roll(bucket, o);
    }
  }

  private openPart(bucket: string, now: number): Open {
    if (bucket !== '' && (isAbsolute(bucket) || bucket.split(/[\\/]/).includes('..'))) {
      throw new ConnectorConfigError(
        `FileSink: the bucket assigner returned '${bucket}'; a bucket must be a relative path inside the sink's directory`,
      );
    }
    const counter = this.nextCounter++;
    const name = `part-${this.ctx.subtaskIndex}-${counter}.${this.encoder.extension}`;
    const part = bucket === '' ? name : join(bucket, name);
    const file = join(dirname(part), `.${name}.inprogress-${this.ctx.attempt}`);
    const full = join(this.s.dir, file);
    const parent = dirname(full);
    if (!this.madeDirs.has(parent)) {
      mkdirSync(parent, { recursive: true });
      this.madeDirs.add(parent);
    }
    let fd: number;
    try {
      fd = openSync(full, 'w');
    } catch (error) {
      throw new ConnectorUnavailableError(`FileSink: cannot write ${full}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { fd, file, part, bytes: 0, openedAt: now, lastWriteAt: now, chunks: [], buffered: 0 };
  }

  private flushOne(o: Open): void {
    if (o.chunks.length === 0) return;
    const text = o.chunks.join('\n') + '\n';
    o.chunks = [];
    o.buffered = 0;
    o.bytes += writeSync(o.fd, text);
    this.ctx.metrics.inc('bytesWritten', Buffer.byteLength(text));
  }

  private roll(bucket: string, o: Open): void {
    this.flushOne(o);
    closeSync(o.fd);
    this.open.delete(bucket);
    this.closed.push({ file: o.file, part: o.part });
  }

  private rollByTime(now: number): void {
    for (const [bucket, o] of [...this.open]) {
      if (now - o.openedAt >= this.s.rolloverIntervalMs || now - o.lastWriteAt >= this.s.inactivityIntervalMs)
        this.roll(bucket, o);
    }
  }

  writeWatermark(): void {
    this.flush();
  }

  flush(): void {
    for (const o of this.open.values()) this.flushOne(o);
  }

  prepareCommit(): PendingFile[] {
    for (const [bucket, o] of [...this.open]) this.roll(bucket, o);
    const out = this.closed;
    this.closed = [];
    return out;
  }

  snapshotState(): FileSinkWriterState {
    return { subtask: this.ctx.subtaskIndex, nextCounter: this.nextCounter };
  }

  close(): void {
    this.cancelTimer?.();
    for (const o of this.open.values()) {
      try {
        this.flushOne(o);
      } finally {
        closeSync(o.fd);
      }
    }
    this.open.clear();
  }

  /** Creates the directory; a file in its place (a single-file output of an earlier Freshet) is replaced. */
  private makeDirectory(dir: string): void {
    try {
      mkdirSync(dir, { recursive: true });
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    }
    if (!this.s.overwrite) throw new ConnectorConfigError(`FileSink: ${dir} is a file, not a directory`);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      try {
        unlinkSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    mkdirSync(dir, { recursive: true });
  }
}

class FileCommitter implements Committer<PendingFile> {
  constructor(
    private readonly dir: string,
    private readonly sinkName: string,
  ) {}
  commit(checkpointId: number, files: readonly PendingFile[]): void {
    for (const p of files) {
      const from = join(this.dir, p.file);
      const to = join(this.dir, p.part);
      try {
        renameSync(from, to);
        continue;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (statSync(to, { throwIfNoEntry: false }) !== undefined) continue; // committed before the failure
      throw new FileSinkRestoreError(
        `Sink '${this.sinkName}': part file ${p.part} of checkpoint ${checkpointId} is missing in ${this.dir} ` +
          '(neither in progress nor committed); the directory was changed while the job ran',
      );
    }
  }
}

/** The exactly-once part-file sink (see the module documentation). */
export class FileSink<T> implements ConnectorSink<T, PendingFile, FileSinkWriterState> {
  declare readonly __type?: (value: T) => void;
  readonly guarantee = 'exactly-once' as const;
  readonly description;
  readonly name: string;

  constructor(
    private readonly s: Settings,
    private readonly encoder: RowEncoder<T>,
    name = 'Sink: File',
  ) {
    this.name = name;
    this.description = {
      connector: 'file',
      path: s.dir,
      format: encoder.description,
      bucketed: s.bucket !== undefined,
      maxPartSizeBytes: s.maxPartSizeBytes,
      rolloverIntervalMs: s.rolloverIntervalMs,
      inactivityIntervalMs: s.inactivityIntervalMs,
      overwrite: s.overwrite,
    };
  }

  /** A builder writing rows encoded by `encoder` into the directory `dir`. */
  static forRowFormat<T>(dir: string, encoder: RowEncoder<T>): FileSinkBuilder<T> {
    return new FileSinkBuilder(dir, encoder);
  }

  createWriter(
    ctx: SinkWriterContext,
    restored: readonly FileSinkWriterState[],
  ): SinkWriter<T, PendingFile, FileSinkWriterState> {
    return new FileSinkWriter(this.s, this.encoder, ctx, restored);
  }

  createCommitter(ctx: SinkWriterContext): Committer<PendingFile> {
    return new FileCommitter(this.s.dir, ctx.operatorId);
  }
}

/** Builds a {@link FileSink}. */
export class FileSinkBuilder<T> {
  private readonly s: Settings;
  private name: string | undefined;
  constructor(
    dir: string,
    private readonly encoder: RowEncoder<T>,
  ) {
    if (typeof dir !== 'string' || dir === '')
      throw new ConnectorConfigError('FileSink.forRowFormat expects a directory');
    if (typeof encoder?.encode !== 'function')
      throw new ConnectorConfigError(
        'FileSink.forRowFormat expects a RowEncoder, e.g. RowEncoders.jsonLines()',
      );
    this.s = {
      dir: resolve(dir),
      bucket: undefined,
      maxPartSizeBytes: 128 * 1024 * 1024,
      rolloverIntervalMs: 60_000,
      inactivityIntervalMs: 60_000,
      overwrite: false,
    };
  }

  /** Puts each record into the bucket (subdirectory) `assigner` names. @default every record in the base directory */
  withBucketAssigner(assigner: BucketAssigner<T>): this {
    if (typeof assigner !== 'function')
      throw new ConnectorConfigError(
        'FileSink.withBucketAssigner expects a function (value, { timestamp, now }) => bucket',
      );
    this.s.bucket = assigner as BucketAssigner<unknown>;
    return this;
  }

  /** When part files close between checkpoints (see {@link RollingPolicy}). */
  withRollingPolicy(policy: RollingPolicy): this {
    const check = (name: string, v: number | undefined): void => {
      if (v !== undefined && !(v > 0))
        throw new ConnectorConfigError(`FileSink rolling policy: ${name} must be > 0 or Infinity (got ${v})`);
    };
    check('maxPartSizeBytes', policy.maxPartSizeBytes);
    check('rolloverIntervalMs', policy.rolloverIntervalMs);
    check('inactivityIntervalMs', policy.inactivityIntervalMs);
    if (policy.maxPartSizeBytes !== undefined) this.s.maxPartSizeBytes = policy.maxPartSizeBytes;
    if (policy.rolloverIntervalMs !== undefined) this.s.rolloverIntervalMs = policy.rolloverIntervalMs;
    if (policy.inactivityIntervalMs !== undefined) this.s.inactivityIntervalMs = policy.inactivityIntervalMs;
    return this;
  }

  /**
   * A run without restored state first deletes the part files a previous
   * run left in the directory (of every subtask), and replaces a file at
   * the path. @default false (a new run continues the counters after them)
   */
  overwrite(overwrite = true): this {
    this.s.overwrite = overwrite;
    return this;
  }

  /** The sink operator's default name. @default 'Sink: File' */
  named(name: string): this {
    this.name = name;
    return this;
  }

  /** The sink. */
  build(): FileSink<T> {
    return new FileSink({ ...this.s }, this.encoder, this.name);
  }
}
