/**
 * The built-in sources, one per `SourceSpec` type. How each splits its work
 * across `p` subtasks:
 *
 * - `elements`, `sequence`: contiguous ranges (subtask `i` gets items
 *   `[i·n/p, (i+1)·n/p)`), so each subtask keeps the order of its share.
 * - `generator`, `nexmark`: index `k` goes to subtask `k mod p`.
 * - `textFile`: a shorthand for `@freshet/connectors`' `FileSource` over
 *   text lines (a large file is read in byte ranges; a line belongs to the
 *   range that holds its first byte).
 * - `connector`: a source of the split framework (`connector/source-operator.ts`).
 * - `socket`: not parallel; subtask 0 connects, the others end at once.
 *
 * Rates (`ratePerSecond`) are for the whole source, split evenly.
 */
import { connect, type Socket } from 'node:net';
import type { SourceSpec, StreamNode } from '@freshet/graph';
import { NexmarkGenerator, eventTime, type NexmarkEvent } from '@freshet/nexmark';
import { NO_TIMESTAMP } from '../operator.js';
import { BaseSource, RateLimiter, contiguousShare } from './source-base.js';
import { ConnectorSourceOperator } from './connector/source-operator.js';
import { FileSource, textLines } from '@freshet/connectors';

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
    if (this.spec.ratePerSecond)
      this.limiter = new RateLimiter(this.spec.ratePerSecond / this.ctx.parallelism);
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
    if (typeof fn !== 'function')
      throw new Error(`generator source '${this.node.name}' has no element function`);
    this.fn = fn;
    this.next = position ?? this.ctx.subtaskIndex;
    this.count = this.spec.count ?? Number.POSITIVE_INFINITY;
    if (this.spec.ratePerSecond)
      this.limiter = new RateLimiter(this.spec.ratePerSecond / this.ctx.parallelism);
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
        this.retryTimer = setTimeout(() => {
          this.connect();
        }, 500);
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
    if (this.error)
      throw new Error(`socket source ${this.spec.host}:${this.spec.port}: ${this.error.message}`);
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
export function createSourceOperator(node: StreamNode): BaseSource | ConnectorSourceOperator {
  const spec = node.spec.source;
  if (!spec) throw new Error(`source node '${node.name}' (id ${node.id}) has no source spec`);
  switch (spec.type) {
    case 'elements':
      return new ElementsSource(node, spec.elements);
    case 'sequence':
      return new SequenceSource(node, spec);
    case 'generator':
      return new GeneratorSource(node, spec);
    case 'textFile': {
      // A shorthand for FileSource over text lines (byte ranges, positions in checkpoints).
      const source = FileSource.forFormat(textLines(), spec.path).build();
      return new ConnectorSourceOperator({ ...node, fns: { ...node.fns, source } });
    }
    case 'socket':
      return new SocketSource(node, spec);
    case 'nexmark':
      return new NexmarkSource(node, spec);
    case 'connector':
      return new ConnectorSourceOperator(node);
  }
}
