/**
 * {@link PeerConnection} over a {@link PeerLink}: lets a
 * {@link NetworkEnvironment} in the same thread as the socket exchange
 * channels with another TaskManager directly (used by tests and by
 * single-threaded embeddings; TaskManagers route their slot workers' frames
 * through the link instead, see `taskexecutor/cluster-job.ts`).
 */
import type { ConnectionHandler, PeerConnection } from '../connection.js';
import { FRAME_HEADER_BYTES } from './frames.js';
import type { PeerLink } from './peer-link.js';

/** A connection to a slot on another TaskManager, over TCP. */
export class TcpPeerConnection implements PeerConnection {
  constructor(
    private readonly link: PeerLink,
    /** Called when the link breaks. */
    private readonly onLost?: (error: Error) => void,
  ) {}

  sendData(channel: number, frame: Uint8Array): void {
    this.link.sendData(channel, frame);
  }

  sendCredit(channel: number, credits: number): void {
    this.link.sendCredit(channel, credits);
  }

  open(handler: ConnectionHandler): void {
    const link: Parameters<PeerLink['open']>[0] = {
      onData: (channel, frame) => {
        handler.onData(channel, frame.subarray(FRAME_HEADER_BYTES));
      },
      onCredit: (channel, credits) => {
        handler.onCredit(channel, credits);
      },
    };
    if (this.onLost) link.onLost = this.onLost;
    this.link.open(link);
  }

  close(): void {
    this.link.close();
  }
}
