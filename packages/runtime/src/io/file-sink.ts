/**
 * The exactly-once file sink (Flink's `FileSink` protocol), behind
 * `writeAsJsonLines(dir)` and `writeAsText(dir)`. Each parallel instance
 * writes *part files* into the directory:
 *
 * 1. Records go to an in-progress file, `.part-<subtask>-<counter>.<ext>.inprogress-<attempt>`
 *    (hidden: the leading dot).
 * 2. At checkpoint N the in-progress file is closed and becomes *pending
 *    for N*: its name is in the operator state of N, and the next record
 *    opens a new in-progress file with the next counter.
 * 3. When checkpoint M completes (`notifyCheckpointComplete(M)`), every
 *    file pending for N <= M is committed: renamed to
 *    `part-<subtask>-<counter>.<ext>`. A file pending for an aborted
 *    checkpoint is committed with the next one that completes.
 * 4. On restore, the pending files of the restored state are committed
 *    (they belong to a completed checkpoint; renaming is skipped when the
 *    committed file exists already, so this is idempotent), and every other
 *    in-progress file of the subtask — written by an older attempt after
 *    that checkpoint — is deleted: its records will be written again.
 *
 * Readers only ever see committed part files, each complete, and together
 * exactly the records of the latest completed checkpoint: no record lost,
 * none twice. A job that starts without restored state replaces what a
 * previous run left in the directory (its part files and in-progress files).
 *
 * Files are written with synchronous, buffered writes from the task thread
 * (the subtask owns its files) and are not fsynced: the guarantee holds
 * across process failures, not across a crash of the machine.
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
import { join } from 'node:path';
import type { StreamNode } from '@freshet/graph';
import type { OperatorContext, OperatorSnapshot, StreamOperator } from '../operator.js';
import { toJsonLine, toTextLine } from './format.js';

/** What the sink writes per record. */
export type FileSinkFormat = 'jsonLines' | 'text';

/** A part file waiting for its checkpoint to complete. */
interface PendingPart {
  /** The in-progress file's name. */
  file: string;
  /** The committed name. */
  part: string;
  /** The checkpoint it was closed at. */
  checkpointId: number;
}

/** The sink's operator state. */
interface FileSinkState {
  subtask: number;
  /** Counter of the next part file. */
  nextCounter: number;
  pending: PendingPart[];
}

/** A pending file of a restored state is neither in progress nor committed: its records are gone. */
export class FileSinkRestoreError extends Error {
  override readonly name = 'FileSinkRestoreError';
}

const EXTENSION: Record<FileSinkFormat, string> = { jsonLines: 'jsonl', text: 'txt' };
const FLUSH_BYTES = 64 * 1024;

/** Every file name the sink uses, with the subtask it belongs to. */
const OWN_FILE = /^\.?part-(\d+)(?:-\d+)?\.(?:jsonl|txt)(?:\.inprogress-\d+)?$/;
const IN_PROGRESS = /^\.part-(\d+)-\d+\.(?:jsonl|txt)\.inprogress-\d+$/;

/** The exactly-once part-file sink. */
export class ExactlyOnceFileSink implements StreamOperator {
  private ctx!: OperatorContext;
  private readonly ext: string;
  private readonly format: (value: unknown) => string;
  private subtask = 0;
  private nextCounter = 0;
  private pending: PendingPart[] = [];
  /** The open in-progress file, if any. */
  private current: { fd: number; file: string; part: string } | undefined;
  private chunks: string[] = [];
  private size = 0;

  constructor(
    readonly node: StreamNode,
    format: FileSinkFormat,
    /** The directory of the part files. */
    readonly dir: string,
  ) {
    this.ext = EXTENSION[format];
    this.format = format === 'jsonLines' ? toJsonLine : toTextLine;
  }

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    this.subtask = ctx.subtaskIndex;
    this.makeDirectory();
    const states = (restored ?? [])
      .map((s) => s.operator as FileSinkState | undefined)
      .filter((s): s is FileSinkState => s !== undefined && Array.isArray(s.pending));
    if (restored === undefined || restored.length === 0) {
      this.removeFiles(
        (subtask) => subtask === this.subtask || (this.subtask === 0 && subtask >= ctx.parallelism),
        false,
      );
      return;
    }
    // Commit what the restored checkpoint covers; what older attempts wrote after it is written again.
    for (const state of states) for (const p of state.pending) this.commitRestored(p);
    this.removeFiles((subtask) => subtask === this.subtask, true);
    let next = 0;
    for (const s of states) if (s.subtask === this.subtask) next = Math.max(next, s.nextCounter);
    this.nextCounter = Math.max(next, this.firstFreeCounter());
  }

  processElement(value: unknown): void {
    const line = this.format(value);
    this.chunks.push(line);
    this.size += line.length + 1;
    if (this.size >= FLUSH_BYTES) this.flush();
  }

  processWatermark(): void {
    this.flush();
  }

  endInput(): void {
    this.flush();
  }

  snapshotState(checkpointId: number): OperatorSnapshot {
    this.flush();
    const current = this.current;
    if (current) {
      closeSync(current.fd);
      this.current = undefined;
      this.pending.push({ file: current.file, part: current.part, checkpointId });
    }
    const state: FileSinkState = {
      subtask: this.subtask,
      nextCounter: this.nextCounter,
      pending: this.pending.map((p) => ({ ...p })),
    };
    return { operator: state };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const still: PendingPart[] = [];
    for (const p of this.pending) {
      if (p.checkpointId <= checkpointId) renameSync(join(this.dir, p.file), join(this.dir, p.part));
      else still.push(p);
    }
    this.pending = still;
  }

  close(): void {
    this.flush();
    if (this.current) closeSync(this.current.fd);
    this.current = undefined;
  }

  private flush(): void {
    if (this.chunks.length === 0) return;
    const current = (this.current ??= this.openPart());
    writeSync(current.fd, this.chunks.join('\n') + '\n');
    this.chunks = [];
    this.size = 0;
  }

  private openPart(): { fd: number; file: string; part: string } {
    const counter = this.nextCounter++;
    const part = `part-${this.subtask}-${counter}.${this.ext}`;
    const file = `.${part}.inprogress-${this.ctx.attempt}`;
    return { fd: openSync(join(this.dir, file), 'w'), file, part };
  }

  private commitRestored(p: PendingPart): void {
    const from = join(this.dir, p.file);
    const to = join(this.dir, p.part);
    try {
      renameSync(from, to);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (exists(to)) return; // committed before the failure
    throw new FileSinkRestoreError(
      `Sink '${this.node.name}': part file ${p.part} of checkpoint ${p.checkpointId} is missing in ${this.dir} ` +
        '(neither in progress nor committed); the directory was changed while the job ran',
    );
  }

  /** Deletes this sink's files of the subtasks `mine` selects (only in-progress ones when `inProgressOnly`). */
  private removeFiles(mine: (subtask: number) => boolean, inProgressOnly: boolean): void {
    for (const name of readdirSync(this.dir)) {
      const m = (inProgressOnly ? IN_PROGRESS : OWN_FILE).exec(name);
      if (!m || !mine(Number(m[1]))) continue;
      try {
        unlinkSync(join(this.dir, name));
      } catch (error) {
        // Another subtask (of a wider previous run's index) may have taken it already.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }

  /** One more than the highest counter of this subtask's committed part files. */
  private firstFreeCounter(): number {
    const committed = new RegExp(`^part-${this.subtask}-(\\d+)\\.${this.ext}$`);
    let next = 0;
    for (const name of readdirSync(this.dir)) {
      const m = committed.exec(name);
      if (m) next = Math.max(next, Number(m[1]) + 1);
    }
    return next;
  }

  /** Creates the directory; a file in its place (a single-file output of an earlier Freshet) is replaced. */
  private makeDirectory(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    }
    if (!statSync(this.dir, { throwIfNoEntry: false })?.isDirectory()) {
      try {
        unlinkSync(this.dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    mkdirSync(this.dir, { recursive: true });
  }
}

function exists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}
