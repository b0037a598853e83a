/**
 * Channels whose other end runs in another slot or process (Flink's
 * RemoteInputChannel): events are encoded with the binary codec and sent over
 * the {@link PeerConnection} to that slot, credit travels back the same way.
 * The connection is the transport: a MessagePort (`local/`) or TCP (`tcp/`).
 */
import { encodeEvent } from '../codec/binary.js';
import type { ChannelEvent } from '../codec/events.js';
import { FRAME_HEADROOM, type PeerConnection } from './connection.js';
import type { Transmit } from './output-channel.js';

/** The producer side of remote channel `channelId`: encodes each event and sends it; returns the bytes sent. */
export function remoteTransmit(channelId: number, connection: PeerConnection): Transmit {
  return (event: ChannelEvent) => {
    const frame = encodeEvent(event, FRAME_HEADROOM);
    connection.sendData(channelId, frame);
    return frame.byteLength - FRAME_HEADROOM;
  };
}

/** The consumer side of remote channel `channelId`: sends granted credit to the producer's slot. */
export function remoteCreditReturn(channelId: number, connection: PeerConnection): (credits: number) => void {
  return (credits) => {
    connection.sendCredit(channelId, credits);
  };
}
