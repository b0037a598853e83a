/**
 * The consumer end of one channel: a queue of arrived events (objects from
 * a local producer, bytes from a remote one, decoded when taken). Taking a
 * batch returns one credit to the producer.
 */
import type { ChannelEvent } from '../codec/events.js';
import { decodeEvent } from '../codec/binary.js';

/** Told when a channel goes from empty to non-empty. */
export interface InputChannelListener {
  onChannelAvailable(channel: InputChannel): void;
}

/** The consumer end of a channel. */
export class InputChannel {
  private queue: (ChannelEvent | Uint8Array)[] = [];
  private head = 0;
  /** Bytes received from the wire. */
  bytesIn = 0;
  /** Set by the input gate that owns this channel. */
  listener: InputChannelListener | undefined;
  /** Index of this channel inside its gate (set by the gate). */
  gateIndex = -1;

  constructor(
    readonly id: number,
    /** Input of the task's head operator this channel feeds (0 or 1). */
    readonly inputIndex: 0 | 1,
    private readonly returnCredit: (credits: number) => void,
  ) {}

  /** Events waiting. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** An event (or its encoding) arrived. */
  push(item: ChannelEvent | Uint8Array): void {
    const wasEmpty = this.size === 0;
    this.queue.push(item);
    if (wasEmpty) this.listener?.onChannelAvailable(this);
  }

  /** Takes the next event, if any. */
  poll(): ChannelEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as ChannelEvent;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 256) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    let event: ChannelEvent;
    if (item instanceof Uint8Array) {
      this.bytesIn += item.byteLength;
      event = decodeEvent(item);
    } else {
      event = item;
    }
    if (event.kind === 'batch') this.returnCredit(1);
    return event;
  }
}
