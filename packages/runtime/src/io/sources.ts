/**
 * The built-in sources, one per `SourceSpec` type. How each splits its work
 * across `p` subtasks:
 *
 * - `elements`, `sequence`: contiguous ranges (subtask `i` gets items
 *   `[i·n/p, (i+1)·n/p)`), so each subtask keeps the order of its share.
 * - `generator`, `nexmark`: index `k` goes to subtask `k mod p`.
 * - `textFile`: byte ranges; a line belongs to the subtask whose range holds
 *   its first byte (Hadoop's split rule), so every line is read exactly once.
 * - `socket`: not parallel; subtask 0 connects, the others end at once.
 *
 * Rates (`ratePerSecond`) are for the whole source, split evenly.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { SourceSpec, StreamNode } from '@freshet/graph';
import { NexmarkGenerator, eventTime, type NexmarkEvent } from '@freshet/nexmark';
import { NO_TIMESTAMP } from '../operator.js';
import { BaseSource, RateLimiter, contiguousShare } from './source-base.js';

/** `fromElements` / `fromCollection`. */
export class ElementsSource extends BaseSource {
  private next = 0;
  private end = 0;
  constructor(
    node: StreamNode,
    private readonly elements: readonly unknown[],
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const share = contiguousShare(this.elements.length, this.ctx.subtaskIndex, this.ctx.parallelism);
    this.next = position ?? share.start;
    this.end = share.end;
  }
  protected position(): number {
    return this.next;
  }
  emitNext(maxRecords: number): 'MORE' | 'END' {
    const stop = Math.min(this.end, this.next + maxRecords);
    const out = this.output;
    const el = this.elements;
    for (let i = this.next; i < stop; i++) out.collect(el[i], NO_TIMESTAMP);
    this.next = stop;
    return stop >= this.end ? 'END' : 'MORE';
  }
}

/** `fromSequence(from, to)`: the integers `from..to`, both included. */
export class SequenceSource extends BaseSource {
  private next = 0;
  private end = 0;
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'sequence' }>,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const n = Math.max(0, this.spec.to - this.spec.from + 1);
    const share = contiguousShare(n, this.ctx.subtaskIndex, this.ctx.parallelism);
    this.next = position ?? share.start;
    this.end = share.end;
    if (this.spec.ratePerSecond) this.limiter = new RateLimiter(this.spec.ratePerSecond / this.ctx.parallelism);
  }
  protected position(): number {
    return this.next;
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    if (this.next >= this.end) return 'END';
    const budget = this.budget(maxRecords);
    if (budget === 0) return 'IDLE';
    const stop = Math.min(this.end, this.next + budget);
    const from = this.spec.from;
    const out = this.output;
    for (let i = this.next; i < stop; i++) out.collect(from + i, NO_TIMESTAMP);
    this.limiter?.record(stop - this.next);
    this.next = stop;
    return stop >= this.end ? 'END' : 'MORE';
  }
}

/** `fromGenerator(fn, count?)`: `fn(k)` for every index `k` of this subtask's share; unbounded without `count`. */
export class GeneratorSource extends BaseSource {
  private next = 0;
  private count = Number.POSITIVE_INFINITY;
  private fn!: (index: number) => unknown;
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'generator' }>,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const fn = this.node.fns.generator;
    if (typeof fn !== 'function') throw new Error(`generator source '${this.node.name}' has no element function`);
    this.fn = fn;
    this.next = position ?? this.ctx.subtaskIndex;
    this.count = this.spec.count ?? Number.POSITIVE_INFINITY;
    if (this.spec.ratePerSecond) this.limiter = new RateLimiter(this.spec.ratePerSecond / this.ctx.parallelism);
  }
  protected position(): number {
    return this.next;
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    if (this.next >= this.count) return 'END';
    const budget = this.budget(maxRecords);
    if (budget === 0) return 'IDLE';
    const p = this.ctx.parallelism;
    const out = this.output;
    const fn = this.fn;
    let k = this.next;
    let n = 0;
    while (n < budget && k < this.count) {
      let value: unknown;
      try {
        value = fn(k);
      } catch (error) {
        this.next = k;
        this.fail(error, 'generator');
      }
      out.collect(value, NO_TIMESTAMP);
      k += p;
      n++;
    }
    this.next = k;
    this.limiter?.record(n);
    return k >= this.count ? 'END' : 'MORE';
  }
}

/** The Nexmark generator; records carry their event time as timestamp. */
export class NexmarkSource extends BaseSource {
  private gen!: NexmarkGenerator;
  private readonly buffer: NexmarkEvent[] = [];
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'nexmark' }>,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const opts: ConstructorParameters<typeof NexmarkGenerator>[0] = {
      ...this.spec.config,
      seed: this.spec.seed,
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
    };
    if (this.spec.events !== undefined) opts.events = this.spec.events;
    if (this.spec.ratePerSecond !== undefined) opts.ratePerSecond = this.spec.ratePerSecond;
    if (position !== undefined) opts.startIndex = position;
    this.gen = new NexmarkGenerator(opts);
  }
  protected position(): number {
    return this.gen.position;
  }
  override idleDelayMs(): number {
    return Math.max(1, Math.ceil(this.gen.delayMs()));
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    const gen = this.gen;
    if (!gen.hasNext()) return 'END';
    if (this.spec.ratePerSecond !== undefined && this.spec.ratePerSecond > 0) {
      // Emit while events are due (the generator paces by its own clock).
      let n = 0;
      while (n < maxRecords && gen.hasNext() && gen.delayMs() === 0) {
        const ev = gen.next();
        this.output.collect(ev, eventTime(ev));
        n++;
      }
      if (!gen.hasNext()) return 'END';
      return n === 0 ? 'IDLE' : 'MORE';
    }
    const buf = this.buffer;
    const n = gen.nextBatch(buf, maxRecords);
    const out = this.output;
    for (let i = 0; i < n; i++) {
      const ev = buf[i]!;
      out.collect(ev, eventTime(ev));
    }
    buf.length = 0;
    return gen.hasNext() ? 'MORE' : 'END';
  }
}

const CHUNK = 64 * 1024;

/** `readTextFile(path)`: the file's lines (without `\n` and a trailing `\r`), bounded. */
export class TextFileSource extends BaseSource {
  private fd = -1;
  /** File offset of the next unread byte. */
  private offset = 0;
  /** Lines starting at or after this offset belong to the next subtask. */
  private end = 0;
  /** Offset of the first byte of `pending`. */
  private lineStart = 0;
  private pending = '';
  private done = false;
  private readonly chunk = Buffer.allocUnsafe(CHUNK);
  private readonly decoder = new TextDecoder('utf-8');
  constructor(
    node: StreamNode,
    private readonly path: string,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const size = statSync(this.path).size;
    const share = contiguousShare(size, this.ctx.subtaskIndex, this.ctx.parallelism);
    this.end = share.end;
    this.fd = openSync(this.path, 'r');
    let start = position ?? share.start;
    if (position === undefined && start > 0) {
      // Skip the line that started in the previous subtask's range.
      start = this.skipPartialLine(start);
    }
    this.offset = start;
    this.lineStart = start;
    if (start >= this.end && position === undefined) this.done = true;
  }
  private skipPartialLine(start: number): number {
    let pos = start - 1;
    for (;;) {
      const n = readSync(this.fd, this.chunk, 0, CHUNK, pos);
      if (n === 0) return pos;
      const i = this.chunk.subarray(0, n).indexOf(10);
      if (i >= 0) return pos + i + 1;
      pos += n;
    }
  }
  protected position(): number {
    return this.lineStart;
  }
  emitNext(maxRecords: number): 'MORE' | 'END' {
    let emitted = 0;
    while (!this.done && emitted < maxRecords) {
      const nl = this.pending.indexOf('\n');
      if (nl >= 0) {
        if (this.lineStart >= this.end) {
          this.done = true;
          break;
        }
        let line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        this.lineStart += Buffer.byteLength(line, 'utf8') + 1;
        if (line.endsWith('\r')) line = line.slice(0, -1);
        this.output.collect(line, NO_TIMESTAMP);
        emitted++;
        continue;
      }
      const n = readSync(this.fd, this.chunk, 0, CHUNK, this.offset);
      if (n === 0) {
        // Last line without a trailing newline.
        if (this.pending.length > 0 && this.lineStart < this.end) {
          let line = this.pending;
          if (line.endsWith('\r')) line = line.slice(0, -1);
          this.output.collect(line, NO_TIMESTAMP);
          this.lineStart += Buffer.byteLength(this.pending, 'utf8');
        }
        this.pending = '';
        this.done = true;
        break;
      }
      this.offset += n;
      this.pending += this.decoder.decode(this.chunk.subarray(0, n), { stream: true });
    }
    return this.done ? 'END' : 'MORE';
  }
  override close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * `socketTextStream(host, port, delimiter)`: lines from a TCP server. Only
 * subtask 0 connects. When the peer closes the connection the source ends
 * (bounded by the peer, like Flink's socket source without retries): the rest
 * of the buffer is emitted and the stream ends with the +Infinity watermark.
 * A connection that cannot be established is retried 5 times, 500 ms apart,
 * then the task fails.
 */
export class SocketSource extends BaseSource {
  private socket: Socket | undefined;
  private lines: string[] = [];
  private head = 0;
  private partial = '';
  private closed = false;
  private error: Error | undefined;
  private wakeUp: (() => void) | undefined;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private emittedLines = 0;
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'socket' }>,
  ) {
    super(node);
  }
  setWakeUp(wakeUp: () => void): void {
    this.wakeUp = wakeUp;
  }
  protected init(): void {
    if (this.ctx.subtaskIndex !== 0) {
      this.closed = true;
      return;
    }
    this.connect();
  }
  private connect(): void {
    const socket = connect({ host: this.spec.host, port: this.spec.port });
    this.socket = socket;
    socket.setEncoding('utf8');
    let connected = false;
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split(this.spec.delimiter || '\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) this.lines.push(p);
      this.wakeUp?.();
    });
    socket.on('error', (err) => {
      if (!connected && this.retries < 5) {
        this.retries++;
        this.retryTimer = setTimeout(() => { this.connect(); }, 500);
        return;
      }
      this.error = err;
      this.wakeUp?.();
    });
    socket.on('close', () => {
      if (!connected) return;
      if (this.partial.length > 0) this.lines.push(this.partial);
      this.partial = '';
      this.closed = true;
      this.wakeUp?.();
    });
  }
  protected position(): number {
    return this.emittedLines;
  }
  override idleDelayMs(): number {
    // Woken by the socket; poll rarely as a safety net.
    return 200;
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    if (this.error) throw new Error(`socket source ${this.spec.host}:${this.spec.port}: ${this.error.message}`);
    let n = 0;
    while (n < maxRecords && this.head < this.lines.length) {
      this.output.collect(this.lines[this.head++], NO_TIMESTAMP);
      n++;
    }
    this.emittedLines += n;
    if (this.head >= this.lines.length) {
      this.lines = [];
      this.head = 0;
      return this.closed ? 'END' : n > 0 ? 'MORE' : 'IDLE';
    }
    return 'MORE';
  }
  override close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }
}

/** Instantiates the source operator of a `source` StreamNode. */
export function createSourceOperator(node: StreamNode): BaseSource {
  const spec = node.spec.source;
  if (!spec) throw new Error(`source node '${node.name}' (id ${node.id}) has no source spec`);
  switch (spec.type) {
    case 'elements':
      return new ElementsSource(node, spec.elements);
    case 'sequence':
      return new SequenceSource(node, spec);
    case 'generator':
      return new GeneratorSource(node, spec);
    case 'textFile':
      return new TextFileSource(node, spec.path);
    case 'socket':
      return new SocketSource(node, spec);
    case 'nexmark':
      return new NexmarkSource(node, spec);
  }
}
