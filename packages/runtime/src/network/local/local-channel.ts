/**
 * Channels whose two ends run in the same slot (Flink's LocalInputChannel):
 * events are handed over as objects, never serialized, and credit returns by
 * a direct call. The ends find each other lazily, so either may be created
 * first.
 */
import type { ChannelEvent } from '../../codec/events.js';
import type { InputChannel } from '../input-channel.js';
import type { OutputChannel, Transmit } from '../output-channel.js';

/** The producer side of local channel `channelId`: pushes each event into the consumer end `consumer()` returns. */
export function localTransmit(channelId: number, consumer: () => InputChannel | undefined): Transmit {
  let input: InputChannel | undefined;
  return (event: ChannelEvent) => {
    input ??= consumer();
    if (!input) throw new Error(`local channel ${channelId} has no consumer`);
    input.push(event);
    return 0;
  };
}

/** The consumer side of local channel `channelId`: grants credit to the producer end `producer()` returns. */
export function localCreditReturn(
  channelId: number,
  producer: () => OutputChannel | undefined,
): (credits: number) => void {
  let output: OutputChannel | undefined;
  return (credits) => {
    output ??= producer();
    if (!output) throw new Error(`local channel ${channelId} has no producer`);
    output.addCredit(credits);
  };
}
