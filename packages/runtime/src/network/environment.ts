/**
 * The network stack of one slot (a worker thread; later a TaskManager): it
 * owns the producer and consumer ends of every channel touching the slot and
 * routes them either in memory (both ends in this slot: events are handed
 * over as objects, no serialization) or over a {@link PeerConnection} to the
 * slot that holds the other end (events are encoded with the binary codec).
 */
import type { ChannelEvent } from '../codec/events.js';
import { encodeEvent } from '../codec/binary.js';
import { FRAME_HEADROOM, type PeerConnection } from './connection.js';
import { InputChannel } from './input-channel.js';
import { OutputChannel } from './output-channel.js';

/** Options of a {@link NetworkEnvironment}. */
export interface NetworkOptions {
  /** This slot's index. */
  slot: number;
  /** Connections to the other slots, by slot index. */
  connections: ReadonlyMap<number, PeerConnection>;
  /** Batches a consumer can hold per channel (credits granted up front). @default 4 */
  initialCredits?: number;
}

/** Channels of one slot and their routing. */
export class NetworkEnvironment {
  private readonly inputs = new Map<number, InputChannel>();
  private readonly outputs = new Map<number, OutputChannel>();
  private readonly early = new Map<number, Uint8Array[]>();
  private readonly earlyCredits = new Map<number, number>();
  /** Credits each consumer grants per channel. */
  readonly initialCredits: number;

  constructor(private readonly options: NetworkOptions) {
    this.initialCredits = options.initialCredits ?? 4;
    // A connection may serve several slots (a relay to another process): open each once.
    for (const connection of new Set(options.connections.values())) {
      connection.open({
        onData: (channel, event) => {
          const input = this.inputs.get(channel);
          if (input) input.push(event);
          else {
            const list = this.early.get(channel) ?? [];
            list.push(event);
            this.early.set(channel, list);
          }
        },
        onCredit: (channel, credits) => {
          const output = this.outputs.get(channel);
          if (output) output.addCredit(credits);
          else this.earlyCredits.set(channel, (this.earlyCredits.get(channel) ?? 0) + credits);
        },
      });
    }
  }

  private connection(slot: number): PeerConnection {
    const c = this.options.connections.get(slot);
    if (!c) throw new Error(`slot ${this.options.slot} has no connection to slot ${slot}`);
    return c;
  }

  /** Creates the consumer end of `channelId`, whose producer runs in `producerSlot`. */
  createInputChannel(channelId: number, producerSlot: number, inputIndex: 0 | 1): InputChannel {
    let returnCredit: (n: number) => void;
    if (producerSlot === this.options.slot) {
      let output: OutputChannel | undefined;
      returnCredit = (n) => {
        output ??= this.outputs.get(channelId);
        if (!output) throw new Error(`local channel ${channelId} has no producer`);
        output.addCredit(n);
      };
    } else {
      const connection = this.connection(producerSlot);
      returnCredit = (n) => { connection.sendCredit(channelId, n); };
    }
    const input = new InputChannel(channelId, inputIndex, returnCredit);
    this.inputs.set(channelId, input);
    const early = this.early.get(channelId);
    if (early) {
      this.early.delete(channelId);
      for (const e of early) input.push(e);
    }
    return input;
  }

  /** Creates the producer end of `channelId`, whose consumer runs in `consumerSlot`. */
  createOutputChannel(channelId: number, consumerSlot: number): OutputChannel {
    let transmit: (event: ChannelEvent) => number;
    if (consumerSlot === this.options.slot) {
      let input: InputChannel | undefined;
      transmit = (event) => {
        input ??= this.inputs.get(channelId);
        if (!input) throw new Error(`local channel ${channelId} has no consumer`);
        input.push(event);
        return 0;
      };
    } else {
      const connection = this.connection(consumerSlot);
      transmit = (event) => {
        const frame = encodeEvent(event, FRAME_HEADROOM);
        connection.sendData(channelId, frame);
        return frame.byteLength - FRAME_HEADROOM;
      };
    }
    const output = new OutputChannel(channelId, transmit, this.initialCredits);
    this.outputs.set(channelId, output);
    const credits = this.earlyCredits.get(channelId);
    if (credits) {
      this.earlyCredits.delete(channelId);
      output.addCredit(credits);
    }
    return output;
  }

  /** Closes all connections. */
  close(): void {
    for (const c of new Set(this.options.connections.values())) c.close();
  }
}
