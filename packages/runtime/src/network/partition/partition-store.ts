/**
 * Blocking result partitions of a TaskManager (Flink's
 * `BoundedBlockingSubpartition`): in a staged BATCH job every channel of a
 * blocking edge is written here completely by its producer before its
 * consumer is deployed, then read — once per consumer attempt — from here.
 *
 * A partition holds the channel's encoded events (the frames the producer's
 * slot sent, without their transport headroom) in order. It stays in memory
 * while the store's memory budget allows; an append past the budget spills
 * that partition to a file under the store's directory (the TaskManager's
 * `<data-dir>/work/partitions/<jobId>/`), and it is appended to on disk from
 * then on, so a TaskManager's memory for partitions stays bounded whatever
 * their size. Only a complete partition (its end-of-partition event
 * appended) can be read; a producer that runs again replaces its partition.
 * A job's partitions are released when it ends.
 *
 * File format: `[u32 little-endian length][event bytes]`, repeated.
 * Reads and writes are synchronous and small (one frame), in the
 * TaskManager's main thread, as its relay is.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FRAME_HEADROOM } from '../connection.js';

/** Options of a {@link PartitionStore}. */
export interface PartitionStoreOptions {
  /** Directory for spilled partitions (one sub-directory per job). */
  dir: string;
  /** Bytes of partition data kept in memory over all partitions before they spill to disk. @default 64 MiB */
  memoryBytes?: number;
}

/** Event type byte of a batch (the one event kind that consumes credit), as `codec/binary.ts` writes it. */
const TYPE_BATCH = 1;
/** Event type byte of the end of partition. */
const TYPE_END = 5;

interface Partition {
  readonly jobId: string;
  readonly channel: number;
  /** Frames in memory (until it spills). */
  frames: Uint8Array[];
  memoryBytes: number;
  /** The spill file, once it spilled. */
  path: string | undefined;
  fd: number | undefined;
  fileBytes: number;
  frameCount: number;
  complete: boolean;
  released: boolean;
}

/** Appends one channel's events to its partition. */
export interface PartitionWriter {
  /**
   * Appends an encoded event (it starts at the event, after any headroom;
   * copied when it is kept). Returns whether it was the end of partition,
   * which completes the partition.
   */
  append(event: Uint8Array): boolean;
}

/** Reads one complete partition from its start, frame by frame. */
export interface PartitionReader {
  /** Whether every frame was read. */
  readonly done: boolean;
  /** Whether the next frame is a data batch (it needs a credit of the consumer); false when done. */
  nextIsBatch(): boolean;
  /** The next frame in its own buffer, starting with {@link FRAME_HEADROOM} free bytes; undefined when done. */
  next(): Uint8Array | undefined;
  /** Releases its file handle. */
  close(): void;
}

/** The blocking result partitions held by one TaskManager. */
export class PartitionStore {
  readonly #dir: string;
  readonly #budget: number;
  readonly #partitions = new Map<string, Partition>();
  #memoryUsed = 0;

  constructor(options: PartitionStoreOptions) {
    this.#dir = options.dir;
    this.#budget = options.memoryBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes of partition data held in memory now. */
  get memoryUsed(): number {
    return this.#memoryUsed;
  }

  /** Deletes every spilled partition left in the directory (a previous run of the TaskManager). */
  clear(): void {
    for (const p of this.#partitions.values()) this.#drop(p);
    this.#partitions.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Starts (or restarts: the old one is dropped) the partition of `channel` of `jobId`. */
  writer(jobId: string, channel: number): PartitionWriter {
    const key = `${jobId}#${channel}`;
    const old = this.#partitions.get(key);
    if (old !== undefined) this.#drop(old);
    const p: Partition = {
      jobId,
      channel,
      frames: [],
      memoryBytes: 0,
      path: undefined,
      fd: undefined,
      fileBytes: 0,
      frameCount: 0,
      complete: false,
      released: false,
    };
    this.#partitions.set(key, p);
    return {
      append: (event) => {
        if (p.released || p.complete) return false;
        if (p.fd === undefined && this.#memoryUsed + event.byteLength > this.#budget) this.#spill(p);
        if (p.fd !== undefined) this.#writeFrame(p, event);
        else {
          p.frames.push(event.slice());
          p.memoryBytes += event.byteLength;
          this.#memoryUsed += event.byteLength;
        }
        p.frameCount++;
        if (event[0] !== TYPE_END) return false;
        p.complete = true;
        if (p.fd !== undefined) {
          closeSync(p.fd);
          p.fd = undefined;
        }
        return true;
      },
    };
  }

  /** Whether the partition of `channel` of `jobId` is complete here. */
  has(jobId: string, channel: number): boolean {
    return this.#partitions.get(`${jobId}#${channel}`)?.complete === true;
  }

  /** Whether that partition spilled to disk (for tests and metrics). */
  spilled(jobId: string, channel: number): boolean {
    return this.#partitions.get(`${jobId}#${channel}`)?.path !== undefined;
  }

  /** A reader of the complete partition of `channel` of `jobId`, or undefined when there is none here. */
  reader(jobId: string, channel: number): PartitionReader | undefined {
    const p = this.#partitions.get(`${jobId}#${channel}`);
    if (p === undefined || !p.complete) return undefined;
    return p.path === undefined ? memoryReader(p) : fileReader(p, p.path);
  }

  /** Drops every partition of `jobId` (the job ended), in memory and on disk. */
  release(jobId: string): void {
    for (const [key, p] of this.#partitions) {
      if (p.jobId !== jobId) continue;
      this.#drop(p);
      this.#partitions.delete(key);
    }
    rmSync(this.#jobDir(jobId), { recursive: true, force: true });
  }

  #jobDir(jobId: string): string {
    return join(this.#dir, encodeURIComponent(jobId));
  }

  /** Moves the partition's frames to its file; it is appended on disk from now on. */
  #spill(p: Partition): void {
    const dir = this.#jobDir(p.jobId);
    mkdirSync(dir, { recursive: true });
    p.path = join(dir, `${p.channel}.partition`);
    p.fd = openSync(p.path, 'w');
    for (const f of p.frames) this.#writeFrame(p, f);
    this.#memoryUsed -= p.memoryBytes;
    p.frames = [];
    p.memoryBytes = 0;
  }

  #writeFrame(p: Partition, event: Uint8Array): void {
    const record = new Uint8Array(4 + event.byteLength);
    new DataView(record.buffer).setUint32(0, event.byteLength, true);
    record.set(event, 4);
    writeSync(p.fd!, record);
    p.fileBytes += record.byteLength;
  }

  #drop(p: Partition): void {
    p.released = true;
    this.#memoryUsed -= p.memoryBytes;
    p.frames = [];
    p.memoryBytes = 0;
    if (p.fd !== undefined) closeSync(p.fd);
    p.fd = undefined;
    if (p.path !== undefined) rmSync(p.path, { force: true });
  }
}

/** A frame in its own buffer with the transport's headroom in front. */
function withHeadroom(event: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADROOM + event.byteLength);
  out.set(event, FRAME_HEADROOM);
  return out;
}

function memoryReader(p: Partition): PartitionReader {
  let i = 0;
  const frames = p.frames;
  return {
    get done() {
      return i >= frames.length || p.released;
    },
    nextIsBatch: () => i < frames.length && !p.released && frames[i]![0] === TYPE_BATCH,
    next: () => (i < frames.length && !p.released ? withHeadroom(frames[i++]!) : undefined),
    close: () => undefined,
  };
}

function fileReader(p: Partition, path: string): PartitionReader {
  let fd: number | undefined = openSync(path, 'r');
  let position = 0;
  let read = 0;
  const header = new Uint8Array(4);
  let peeked: Uint8Array | undefined;
  const close = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const peek = (): Uint8Array | undefined => {
    if (peeked !== undefined) return peeked;
    if (fd === undefined || read >= p.frameCount || p.released) return undefined;
    readSync(fd, header, 0, 4, position);
    const length = new DataView(header.buffer).getUint32(0, true);
    const frame = new Uint8Array(FRAME_HEADROOM + length);
    readSync(fd, frame, FRAME_HEADROOM, length, position + 4);
    position += 4 + length;
    read++;
    peeked = frame;
    return frame;
  };
  return {
    get done() {
      return peeked === undefined && (read >= p.frameCount || p.released);
    },
    nextIsBatch: () => peek()?.[FRAME_HEADROOM] === TYPE_BATCH,
    next: () => {
      const frame = peek();
      peeked = undefined;
      if (read >= p.frameCount) close();
      return frame;
    },
    close,
  };
}
