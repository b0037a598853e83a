/**
 * One TCP connection between two TaskManagers for one job attempt, after the
 * handshake: it carries every channel between them. Writes of one event-loop
 * turn are coalesced (the socket is corked at the first write and uncorked
 * on the next tick, so many frames leave in one `writev`); credits granted in
 * one turn travel as one CREDIT frame. Nothing here blocks a channel: flow
 * control is end to end between each channel's producer and consumer, so the
 * socket only ever holds what the consumers granted credit for.
 */
import type { Socket } from 'node:net';
import {
  CloseSchema,
  creditFrame,
  FrameDecoder,
  FrameProtocolError,
  FrameType,
  jsonFrame,
  parseJsonPayload,
  writeFrameHeader,
  FRAME_HEADER_BYTES,
  type Close,
  type FrameHeader,
} from './frames.js';

/** What a {@link PeerLink} delivers. */
export interface PeerLinkHandler {
  /** A DATA frame for `channel`; `frame` owns its buffer and has the 8-byte header in front of the encoded event. */
  onData(channel: number, frame: Uint8Array): void;
  /** The consumer of `channel` (on the peer) granted `credits` more batches. */
  onCredit(channel: number, credits: number): void;
  /** The peer is done with the job (it sent CLOSE). */
  onPeerClosed?(close: Close): void;
  /** The connection broke before the peer said CLOSE (the peer crashed, or the network failed). */
  onLost?(error: Error): void;
}

/** Counters of one link. */
export interface PeerLinkStats {
  framesOut: number;
  bytesOut: number;
  framesIn: number;
  bytesIn: number;
  /** Socket writes (after coalescing). */
  flushes: number;
}

/** A framed, multiplexed connection to one peer TaskManager. */
export class PeerLink {
  /** Counters since the link opened. */
  readonly stats: PeerLinkStats = { framesOut: 0, bytesOut: 0, framesIn: 0, bytesIn: 0, flushes: 0 };
  private handler: PeerLinkHandler | undefined;
  private readonly pendingIn: [FrameHeader, Uint8Array][] = [];
  private credits = new Map<number, number>();
  private corked = false;
  private peerClosed: Close | undefined;
  private closedByUs = false;
  private ended = false;
  private lostError: Error | undefined;
  private readonly uncork = (): void => {
    this.corked = false;
    if (this.credits.size > 0) this.writeCredits();
    this.stats.flushes++;
    this.socket.uncork();
  };

  constructor(
    private readonly socket: Socket,
    /** Id of the TaskManager at the other end. */
    readonly peerId: string,
    /** Bytes already read past the handshake. */
    leftover?: Uint8Array,
    /** Largest frame payload accepted from the peer. @default MAX_FRAME_PAYLOAD */
    maxFramePayload?: number,
  ) {
    socket.setNoDelay(true);
    const decoder = new FrameDecoder((header, frame) => {
      this.onFrame(header, frame);
    }, maxFramePayload);
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => {
      this.fail(error);
    });
    socket.on('end', () => {
      if (!this.peerClosed)
        this.fail(new Error(`TaskManager ${peerId} closed the connection without saying CLOSE`));
    });
    socket.on('close', () => {
      if (!this.peerClosed && !this.closedByUs) {
        this.fail(new Error(`connection to TaskManager ${peerId} closed unexpectedly`));
      }
    });
    if (leftover && leftover.byteLength > 0) decoder.push(leftover);
  }

  /** Whether the peer said it is done with the job. */
  get closedByPeer(): Close | undefined {
    return this.peerClosed;
  }

  /** Starts delivering frames (frames that arrived before are delivered now). */
  open(handler: PeerLinkHandler): void {
    this.handler = handler;
    for (const [header, frame] of this.pendingIn.splice(0)) this.dispatch(header, frame);
    if (this.lostError) handler.onLost?.(this.lostError);
  }

  /**
   * Sends one encoded channel event. `frame` has {@link FRAME_HEADER_BYTES}
   * of headroom in front; the header is written there and the bytes go to
   * the socket without a copy (do not reuse `frame`).
   */
  sendData(channel: number, frame: Uint8Array): void {
    if (this.ended) return;
    writeFrameHeader(frame, FrameType.DATA, channel);
    this.write(frame);
  }

  /** Grants the producer of `channel` on the peer `credits` more batches (coalesced per turn). */
  sendCredit(channel: number, credits: number): void {
    if (this.ended) return;
    this.credits.set(channel, (this.credits.get(channel) ?? 0) + credits);
    this.cork();
  }

  /** Tells the peer this side is done, flushes and half-closes (the peer may still send). */
  close(close: Close = { reason: 'finished' }): void {
    if (this.ended) return;
    if (this.credits.size > 0) this.writeCredits();
    this.write(jsonFrame(FrameType.CLOSE, close));
    this.ended = true;
    this.closedByUs = true;
    if (this.corked) this.uncork();
    this.socket.end();
    // The peer ends its side when it is done too; do not wait forever for it.
    setTimeout(() => {
      this.socket.destroy();
    }, 10_000).unref();
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.ended = true;
    this.closedByUs = true;
    this.socket.destroy();
  }

  private write(frame: Uint8Array): void {
    this.cork();
    this.stats.framesOut++;
    this.stats.bytesOut += frame.byteLength;
    this.socket.write(frame);
  }

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.uncork);
  }

  private writeCredits(): void {
    const pairs: number[] = [];
    for (const [channel, n] of this.credits) pairs.push(channel, n);
    this.credits = new Map();
    const frame = creditFrame(pairs);
    this.stats.framesOut++;
    this.stats.bytesOut += frame.byteLength;
    this.socket.write(frame);
  }

  private onFrame(header: FrameHeader, frame: Uint8Array): void {
    this.stats.framesIn++;
    this.stats.bytesIn += frame.byteLength;
    // Known at once, even before a handler is attached: the end of the stream that follows is then no loss.
    if (header.type === FrameType.CLOSE) this.peerClosed = parseJsonPayload(CloseSchema, frame, 'CLOSE');
    if (this.handler) this.dispatch(header, frame);
    else this.pendingIn.push([header, frame]);
  }

  private dispatch(header: FrameHeader, frame: Uint8Array): void {
    const handler = this.handler!;
    switch (header.type) {
      case FrameType.DATA:
        handler.onData(header.channel, frame);
        return;
      case FrameType.CREDIT: {
        if (header.length % 8 !== 0) throw new FrameProtocolError(`CREDIT frame of ${header.length} bytes`);
        const view = new DataView(frame.buffer, frame.byteOffset + FRAME_HEADER_BYTES, header.length);
        for (let i = 0; i < header.length; i += 8)
          handler.onCredit(view.getUint32(i, true), view.getUint32(i + 4, true));
        return;
      }
      case FrameType.CLOSE:
        handler.onPeerClosed?.(parseJsonPayload(CloseSchema, frame, 'CLOSE'));
        return;
      default:
        this.fail(
          new FrameProtocolError(`unexpected frame type ${header.type} from TaskManager ${this.peerId}`),
        );
    }
  }

  private fail(error: Error): void {
    if (this.closedByUs && this.ended && this.peerClosed) return;
    const wasEnded = this.ended;
    this.ended = true;
    this.socket.destroy();
    if (wasEnded && this.closedByUs) return;
    if (this.peerClosed) return;
    const message = error.message.includes(this.peerId)
      ? error.message
      : `TaskManager ${this.peerId}: ${error.message}`;
    const lost = new Error(`lost the data connection to ${message}`);
    lost.name = 'PeerLostError';
    this.lostError = lost;
    this.handler?.onLost?.(lost);
  }
}
