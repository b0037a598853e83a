/**
 * The producer end of one channel, with credit-based flow control: a data
 * batch goes out only against a credit granted by the consumer (one credit =
 * one batch the consumer has room for). Without credit, batches and the
 * control events behind them wait in a backlog; the task stops pulling input
 * while any of its channels has a backlog, so backpressure propagates
 * upstream channel by channel and never blocks a shared connection.
 */
import type { ChannelEvent } from '../codec/events.js';

/** Delivers an event to the consumer; returns the number of bytes sent (0 when nothing was serialized). */
export type Transmit = (event: ChannelEvent) => number;

/** The producer end of a channel. */
export class OutputChannel {
  private credits: number;
  private backlog: ChannelEvent[] = [];
  private backlogHead = 0;
  /** Bytes serialized onto the wire (local channels pass objects and count 0). */
  bytesOut = 0;
  /** Called when the backlog drained after credit arrived. */
  onWritable: (() => void) | undefined;

  constructor(
    readonly id: number,
    private readonly transmit: Transmit,
    initialCredits: number,
  ) {
    this.credits = initialCredits;
  }

  /** Queued events waiting for credit. */
  get backlogSize(): number {
    return this.backlog.length - this.backlogHead;
  }

  /** Sends now if possible, else queues behind the backlog (order is kept). */
  send(event: ChannelEvent): void {
    if (this.backlogSize === 0 && (event.kind !== 'batch' || this.credits > 0)) {
      if (event.kind === 'batch') this.credits--;
      this.bytesOut += this.transmit(event);
    } else {
      this.backlog.push(event);
    }
  }

  /** The consumer made room for `n` more batches. */
  addCredit(n: number): void {
    this.credits += n;
    if (this.backlogSize === 0) return;
    while (this.backlogHead < this.backlog.length) {
      const event = this.backlog[this.backlogHead]!;
      if (event.kind === 'batch') {
        if (this.credits === 0) break;
        this.credits--;
      }
      this.backlogHead++;
      this.bytesOut += this.transmit(event);
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
      this.onWritable?.();
    } else if (this.backlogHead > 64) {
      this.backlog = this.backlog.slice(this.backlogHead);
      this.backlogHead = 0;
    }
  }
}
