/**
 * The network stack of one slot (a worker thread): it owns the producer and
 * consumer ends of every channel touching the slot and routes them either in
 * memory (both ends in this slot, `local/local-channel.ts`: events are handed
 * over as objects, no serialization) or over a {@link PeerConnection} to the
 * slot that holds the other end (`remote-channel.ts`: events are encoded with
 * the binary codec). A slot of another TaskManager is reached through the
 * TaskManager's relay to its TCP links (`tcp/`), so this code is the same in
 * the local mini-cluster and on a cluster.
 */
import type { PeerConnection } from './connection.js';
import { InputChannel } from './input-channel.js';
import { localCreditReturn, localTransmit } from './local/local-channel.js';
import { OutputChannel } from './output-channel.js';
import { remoteCreditReturn, remoteTransmit } from './remote-channel.js';

/** Options of a {@link NetworkEnvironment}. */
export interface NetworkOptions {
  /** This slot's index. */
  slot: number;
  /** Connections to the other slots, by slot index. */
  connections: ReadonlyMap<number, PeerConnection>;
  /** Batches a consumer can hold per channel (credits granted up front). @default {@link DEFAULT_INITIAL_CREDITS} */
  initialCredits?: number;
}

/**
 * Credits a consumer grants per channel up front: the batches a producer may
 * have in flight on it. With few, a fast producer spends most of its time
 * waiting for one credit at a time, and every batch and every credit becomes
 * a message of its own (q5 at parallelism 2 sent 1.1 batches per message with
 * 4 credits, 2.8 with 16, and spent about 10 % less CPU). The memory bound is
 * this many batches per channel.
 */
export const DEFAULT_INITIAL_CREDITS = 16;

/** Channels of one slot and their routing. */
export class NetworkEnvironment {
  private readonly inputs = new Map<number, InputChannel>();
  private readonly outputs = new Map<number, OutputChannel>();
  private readonly early = new Map<number, Uint8Array[]>();
  private readonly earlyCredits = new Map<number, number>();
  /** Credits each consumer grants per channel. */
  readonly initialCredits: number;

  constructor(private readonly options: NetworkOptions) {
    this.initialCredits = options.initialCredits ?? DEFAULT_INITIAL_CREDITS;
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
    const returnCredit =
      producerSlot === this.options.slot
        ? localCreditReturn(channelId, () => this.outputs.get(channelId))
        : remoteCreditReturn(channelId, this.connection(producerSlot));
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
    const transmit =
      consumerSlot === this.options.slot
        ? localTransmit(channelId, () => this.inputs.get(channelId))
        : remoteTransmit(channelId, this.connection(consumerSlot));
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
