/**
 * All input channels of a subtask (of both inputs, for two-input operators),
 * polled fairly: channels with data wait in a FIFO of available channels, so
 * one busy channel cannot starve the others. A channel can be blocked (during
 * barrier alignment); its events then stay queued (and its producer, out of
 * credit, eventually stops) until it is unblocked.
 */
import type { ChannelEvent } from '../codec/events.js';
import type { InputChannel, InputChannelListener } from './input-channel.js';

/** The input side of a subtask. */
export class InputGate implements InputChannelListener {
  private readonly queued: Uint8Array;
  private readonly blocked: Uint8Array;
  private available: number[] = [];
  private availableHead = 0;
  /** Index (in {@link channels}) of the channel the last polled event came from. */
  lastChannel = -1;
  /** Called when a channel gets data (the task schedules itself). */
  onAvailable: (() => void) | undefined;

  constructor(readonly channels: readonly InputChannel[]) {
    this.queued = new Uint8Array(channels.length);
    this.blocked = new Uint8Array(channels.length);
    channels.forEach((c, i) => {
      c.gateIndex = i;
      c.listener = this;
      if (c.size > 0) this.enqueue(i);
    });
  }

  /** Part of {@link InputChannelListener}. */
  onChannelAvailable(channel: InputChannel): void {
    this.enqueue(channel.gateIndex);
    this.onAvailable?.();
  }

  private enqueue(i: number): void {
    if (this.queued[i] === 1 || this.blocked[i] === 1) return;
    this.queued[i] = 1;
    this.available.push(i);
  }

  /** Whether an unblocked channel has an event. */
  get hasAvailable(): boolean {
    return this.availableHead < this.available.length;
  }

  /** Takes the next event from the next available channel (round robin); sets {@link lastChannel}. */
  poll(): ChannelEvent | undefined {
    while (this.availableHead < this.available.length) {
      const i = this.available[this.availableHead++]!;
      if (this.availableHead > 1024) {
        this.available = this.available.slice(this.availableHead);
        this.availableHead = 0;
      }
      this.queued[i] = 0;
      if (this.blocked[i] === 1) continue;
      const channel = this.channels[i]!;
      const event = channel.poll();
      if (event === undefined) continue;
      if (channel.size > 0) this.enqueue(i);
      this.lastChannel = i;
      return event;
    }
    return undefined;
  }

  /** Stops delivering events of channel `i` (barrier alignment). */
  block(i: number): void {
    this.blocked[i] = 1;
  }

  /** Delivers events of every channel again. */
  unblockAll(): void {
    let any = false;
    for (let i = 0; i < this.channels.length; i++) {
      if (this.blocked[i] === 1) {
        this.blocked[i] = 0;
        if (this.channels[i]!.size > 0) {
          this.enqueue(i);
          any = true;
        }
      }
    }
    if (any) this.onAvailable?.();
  }
}
