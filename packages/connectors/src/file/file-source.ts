/**
 * `FileSource`: records from files and directories (Flink's FileSource).
 *
 * ```ts
 * const source = FileSource.forFormat(csv({ header: true, schema: Row }), '/data/in')
 *   .glob('**\/*.csv')
 *   .monitorContinuously(1000)
 *   .build();
 * env.fromSource(source, WatermarkStrategy.noWatermarks(), 'orders');
 * ```
 *
 * - **Splits** are files; a file larger than the split size in a splittable
 *   format (text, JSON lines) is cut into byte ranges, so parallel readers
 *   share it. A split's position is the byte offset (and line number) of its
 *   next record: a restored reader continues there.
 * - **Enumeration** walks the given directories (recursively unless told
 *   not to), keeps files matching the glob (relative to the directory),
 *   skips hidden files (`.name`, `_name`: a FileSink's in-progress files
 *   among them), and remembers every file it listed (enumerator state), so
 *   a continuous source reads each new file once.
 * - **Bounded** by default (list once, end when read); `monitorContinuously`
 *   lists again at an interval and never ends.
 * - **Bad records**: by default the job fails with a {@link BadRecordError}
 *   naming the file and line; `onBadRecord('skip')` skips them and counts
 *   them in the `badRecords` metric.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import {
  type InputStatus,
  type ReaderOutput,
  type Source,
  type SourceContext,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
} from '@freshet/api';
import { BadRecordError, ConnectorConfigError, ConnectorUnavailableError } from '../errors.js';
import { RecordDecodeError, type RecordDecoder, type RecordFormat } from './formats.js';
import { SplitReading, type FileSplit } from './split-reader.js';

export type { FileSplit } from './split-reader.js';

/** The enumerator's state: the files already listed. */
export interface FileEnumeratorState {
  seen: string[];
}

/** What to do with a record the format cannot decode. */
export type BadRecordPolicy = 'fail' | 'skip';

/** Settings of a {@link FileSource} (see the builder's methods). */
export interface FileSourceSettings {
  paths: string[];
  recursive: boolean;
  glob: string | undefined;
  monitorIntervalMs: number | undefined;
  splitSizeBytes: number;
  onBadRecord: BadRecordPolicy;
}

/** @default 32 MiB */
const DEFAULT_SPLIT_SIZE = 32 * 1024 * 1024;

const isHidden = (name: string): boolean => name.startsWith('.') || name.startsWith('_');

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Lists the files under `settings.paths` (absolute paths, sorted) with their sizes. */
export async function listFiles(settings: FileSourceSettings): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const match = settings.glob === undefined ? undefined : picomatch(settings.glob, { dot: false });
  for (const given of settings.paths) {
    const root = resolve(given);
    let info;
    try {
      info = await stat(root);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        throw new ConnectorConfigError(`FileSource: ${root} does not exist; create it or correct the path`);
      }
      throw new ConnectorUnavailableError(`FileSource: cannot read ${root}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (info.isFile()) {
      out.push({ path: root, size: info.size });
      continue;
    }
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        throw new ConnectorUnavailableError(`FileSource: cannot list ${dir}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      for (const e of entries) {
        if (isHidden(e.name)) continue;
        const full = join(dir, e.name);
        if (e.isDirectory()) {
          if (settings.recursive) await walk(full);
          continue;
        }
        if (!e.isFile()) continue;
        const rel = relative(root, full).split(sep).join('/');
        if (match && !match(rel)) continue;
        try {
          out.push({ path: full, size: (await stat(full)).size });
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') throw error; // removed meanwhile: not ours to read
        }
      }
    };
    await walk(root);
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/** The splits of one file. */
export function splitsOf(path: string, size: number, splitSize: number, splittable: boolean): FileSplit[] {
  if (!splittable || size <= splitSize) {
    return [
      {
        splitId: `${path}:0`,
        path,
        start: 0,
        end: Number.MAX_SAFE_INTEGER,
        offset: 0,
        line: 1,
        skipFirst: false,
      },
    ];
  }
  const out: FileSplit[] = [];
  for (let start = 0; start < size; start += splitSize) {
    const last = start + splitSize >= size;
    out.push({
      splitId: `${path}:${start}`,
      path,
      start,
      // The last range reads to the end of the file, whatever its size was when listed.
      end: last ? Number.MAX_SAFE_INTEGER : start + splitSize,
      offset: start,
      line: start === 0 ? 1 : 0,
      skipFirst: start > 0,
    });
  }
  return out;
}

class FileEnumerator implements SplitEnumerator<FileSplit, FileEnumeratorState> {
  private readonly seen = new Set<string>();
  constructor(
    private readonly settings: FileSourceSettings,
    private readonly splittable: boolean,
    restored: readonly FileEnumeratorState[],
  ) {
    for (const r of restored) for (const p of r.seen) this.seen.add(p);
  }
  async discoverSplits(): Promise<FileSplit[]> {
    const files = await listFiles(this.settings);
    const splits: FileSplit[] = [];
    for (const f of files) {
      if (this.seen.has(f.path)) continue;
      this.seen.add(f.path);
      splits.push(...splitsOf(f.path, f.size, this.settings.splitSizeBytes, this.splittable));
    }
    return splits;
  }
  snapshotState(): FileEnumeratorState {
    return { seen: [...this.seen] };
  }
}

class FileReader<T> implements SourceReader<T, FileSplit> {
  private readonly queue: FileSplit[] = [];
  private current: { reading: SplitReading; decoder: RecordDecoder<T> } | undefined;
  private noMoreSplits = false;
  private readonly values: T[] = [];

  constructor(
    private readonly format: RecordFormat<T>,
    private readonly settings: FileSourceSettings,
    private readonly ctx: SourceReaderContext,
  ) {}

  addSplits(splits: readonly FileSplit[]): void {
    for (const s of splits) this.queue.push({ ...s });
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
  }

  private open(split: FileSplit): { reading: SplitReading; decoder: RecordDecoder<T> } {
    let reading: SplitReading;
    try {
      reading = new SplitReading(split, this.format);
    } catch (error) {
      throw new ConnectorUnavailableError(
        `FileSource: cannot read ${split.path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (this.format.header === true && split.format === undefined) {
      const first = reading.firstRecord();
      split.format = first === undefined ? {} : this.format.readHeader!(first.bytes);
      if (first !== undefined) {
        split.offset = first.nextOffset;
        split.line += 1 + first.innerLines;
      }
    }
    return { reading, decoder: this.format.decoder(split.format ?? {}) };
  }

  pollNext(output: ReaderOutput<T>, maxRecords: number): InputStatus {
    let emitted = 0;
    while (emitted < maxRecords) {
      const split = this.queue[0];
      if (split === undefined) return this.noMoreSplits ? 'END_OF_INPUT' : 'NOTHING_AVAILABLE';
      const cur = (this.current ??= this.open(split));
      const run = cur.reading.next(maxRecords - emitted);
      if (run.count > 0) {
        this.ctx.metrics.inc('bytesRead', run.nextOffsets[run.count - 1]! - split.offset);
        emitted += this.emitRun(split, cur.decoder, run, output);
      }
      if (cur.reading.done) {
        cur.reading.close();
        this.current = undefined;
        this.queue.shift();
        output.splitFinished(split.splitId);
      }
    }
    return 'MORE_AVAILABLE';
  }

  /** Decodes and emits a run, applying the bad-record policy; returns the records emitted. */
  private emitRun(
    split: FileSplit,
    decoder: RecordDecoder<T>,
    run: ReturnType<SplitReading['next']>,
    output: ReaderOutput<T>,
  ): number {
    const out = output.forSplit(split.splitId);
    const skipBlank = this.format.skipBlank === true;
    const starts: number[] = [];
    const ends: number[] = [];
    let emitted = 0;
    let i = 0;
    while (i < run.count) {
      // Gather records up to the end of the run (blank ones left out, as the format asks).
      starts.length = 0;
      ends.length = 0;
      const idx: number[] = [];
      for (let j = i; j < run.count; j++) {
        if (skipBlank && isBlank(run.buf, run.starts[j]!, run.ends[j]!)) continue;
        starts.push(run.starts[j]!);
        ends.push(run.ends[j]!);
        idx.push(j);
      }
      const values = this.values;
      values.length = 0;
      let bad: RecordDecodeError | undefined;
      try {
        decoder.decode(run.buf, starts, ends, starts.length, values);
      } catch (error) {
        if (!(error instanceof RecordDecodeError)) throw error;
        bad = error;
      }
      for (let k = 0; k < values.length; k++) out.collect(values[k]!);
      emitted += values.length;
      // Positions: after the last record decoded (or all of them).
      const decodedUpTo = bad === undefined ? run.count : idx[bad.index]!;
      for (let j = i; j < decodedUpTo; j++) this.advance(split, run, j);
      if (bad === undefined) break;
      const badAt = idx[bad.index]!;
      const where =
        split.line > 0 ? `${split.path} line ${split.line}` : `${split.path} at byte ${split.offset}`;
      if (this.settings.onBadRecord === 'fail') {
        const details =
          split.line > 0
            ? { source: split.path, line: split.line, offset: split.offset }
            : { source: split.path, offset: split.offset };
        throw new BadRecordError(
          `FileSource: ${where} ${bad.message}; fix the file, or skip bad records with onBadRecord('skip')`,
          { details },
        );
      }
      this.ctx.metrics.inc('badRecords', 1);
      this.advance(split, run, badAt);
      i = badAt + 1;
    }
    return emitted;
  }

  private advance(split: FileSplit, run: ReturnType<SplitReading['next']>, j: number): void {
    split.offset = run.nextOffsets[j]!;
    if (split.line > 0) split.line += 1 + run.innerLines[j]!;
  }

  snapshotState(): FileSplit[] {
    return this.queue.map((s) => ({ ...s }));
  }

  close(): void {
    this.current?.reading.close();
    this.current = undefined;
  }
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}

/** A source of the records of files (see the module documentation). */
export class FileSource<T> implements Source<T, FileSplit, FileEnumeratorState> {
  declare readonly __type?: (value: never) => T;
  readonly boundedness;
  readonly description;
  readonly discoveryIntervalMs;

  constructor(
    private readonly format: RecordFormat<T>,
    private readonly settings: FileSourceSettings,
  ) {
    this.boundedness =
      settings.monitorIntervalMs === undefined ? ('BOUNDED' as const) : ('CONTINUOUS_UNBOUNDED' as const);
    this.discoveryIntervalMs = settings.monitorIntervalMs;
    this.description = {
      connector: 'file',
      paths: settings.paths,
      ...format.description,
      recursive: settings.recursive,
      ...(settings.glob === undefined ? {} : { glob: settings.glob }),
      ...(settings.monitorIntervalMs === undefined ? {} : { monitorIntervalMs: settings.monitorIntervalMs }),
      splitSizeBytes: settings.splitSizeBytes,
      onBadRecord: settings.onBadRecord,
    };
  }

  /** A builder reading `paths` (files or directories) in `format`. */
  static forFormat<T>(format: RecordFormat<T>, ...paths: string[]): FileSourceBuilder<T> {
    return new FileSourceBuilder(format, paths);
  }

  createEnumerator(
    _ctx: SourceContext,
    restored: readonly FileEnumeratorState[],
  ): SplitEnumerator<FileSplit, FileEnumeratorState> {
    return new FileEnumerator(this.settings, this.format.splittable, restored);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, FileSplit> {
    return new FileReader(this.format, this.settings, ctx);
  }
}

/** Builds a {@link FileSource}. */
export class FileSourceBuilder<T> {
  private readonly settings: FileSourceSettings;
  constructor(
    private readonly format: RecordFormat<T>,
    paths: string[],
  ) {
    if (paths.length === 0 || paths.some((p) => typeof p !== 'string' || p === '')) {
      throw new ConnectorConfigError(
        'FileSource.forFormat expects at least one path (a file or a directory)',
      );
    }
    // Paths are resolved now, in plan mode, so every worker reads the same files.
    this.settings = {
      paths: paths.map((p) => (isAbsolute(p) ? p : resolve(p))),
      recursive: true,
      glob: undefined,
      monitorIntervalMs: undefined,
      splitSizeBytes: DEFAULT_SPLIT_SIZE,
      onBadRecord: 'fail',
    };
  }

  /** Whether directories are read with their subdirectories. @default true */
  recursive(recursive: boolean): this {
    this.settings.recursive = recursive;
    return this;
  }

  /** Keeps only files whose path relative to the given directory matches (picomatch syntax, e.g. `**\/*.log`). */
  glob(pattern: string): this {
    if (typeof pattern !== 'string' || pattern === '')
      throw new ConnectorConfigError('FileSource.glob expects a pattern such as "**/*.csv"');
    this.settings.glob = pattern;
    return this;
  }

  /** Lists the paths again every `intervalMs` and reads new files (the source never ends). */
  monitorContinuously(intervalMs: number): this {
    if (!(Number.isFinite(intervalMs) && intervalMs > 0))
      throw new ConnectorConfigError(
        `FileSource.monitorContinuously expects an interval in ms > 0 (got ${intervalMs})`,
      );
    this.settings.monitorIntervalMs = intervalMs;
    return this;
  }

  /** Files larger than this (in a splittable format) are read in ranges of this size by parallel readers. @default 32 MiB */
  splitSize(bytes: number): this {
    if (!(Number.isInteger(bytes) && bytes >= 1))
      throw new ConnectorConfigError(
        `FileSource.splitSize expects a positive number of bytes (got ${bytes})`,
      );
    this.settings.splitSizeBytes = bytes;
    return this;
  }

  /** `fail` (the default) stops the job at a malformed record; `skip` skips it and counts it (`badRecords`). */
  onBadRecord(policy: BadRecordPolicy): this {
    if (policy !== 'fail' && policy !== 'skip')
      throw new ConnectorConfigError(
        `FileSource.onBadRecord expects 'fail' or 'skip' (got ${String(policy)})`,
      );
    this.settings.onBadRecord = policy;
    return this;
  }

  /** The source. */
  build(): FileSource<T> {
    return new FileSource(this.format, { ...this.settings, paths: [...this.settings.paths] });
  }
}
