/**
 * {@link PeerConnection} over any channel that carries structured-clone
 * packets — a MessagePort between worker threads (`port-connection.ts`,
 * which transfers the frames), a child process's IPC channel (which copies
 * them): all frames and credits of one event-loop turn travel in one
 * packet, the channel id in each frame's headroom.
 */
import type { ConnectionHandler, PeerConnection } from '../connection.js';
import { FRAME_HEADROOM } from '../connection.js';

/** What travels: data frames (channel id in the first 4 bytes) and credits as [channel, credits, …]. */
export interface ConnectionPacket {
  d?: ArrayBuffer[];
  c?: number[];
}

/** A connection whose packets go out through `send` and come in through {@link PacketConnection.deliver}. */
export class PacketConnection implements PeerConnection {
  private frames: ArrayBuffer[] = [];
  private credits = new Map<number, number>();
  private flushQueued = false;
  private closed = false;
  private handler: ConnectionHandler | undefined;
  private readonly early: ConnectionPacket[] = [];
  private readonly flushBound = (): void => {
    this.flush();
  };

  constructor(private readonly send: (packet: ConnectionPacket) => void) {}

  sendData(channel: number, frame: Uint8Array): void {
    if (this.closed) return;
    if (frame.byteOffset !== 0 || frame.byteLength !== frame.buffer.byteLength) frame = frame.slice();
    new DataView(frame.buffer).setUint32(0, channel, true);
    this.frames.push(frame.buffer as ArrayBuffer);
    this.queueFlush();
  }

  sendCredit(channel: number, credits: number): void {
    if (this.closed) return;
    this.credits.set(channel, (this.credits.get(channel) ?? 0) + credits);
    this.queueFlush();
  }

  open(handler: ConnectionHandler): void {
    this.handler = handler;
    for (const packet of this.early.splice(0)) this.dispatch(packet);
  }

  /** A packet from the other end (kept until {@link PacketConnection.open}). */
  deliver(packet: ConnectionPacket): void {
    if (this.closed) return;
    if (this.handler === undefined) this.early.push(packet);
    else this.dispatch(packet);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }

  private dispatch(packet: ConnectionPacket): void {
    const handler = this.handler!;
    if (packet.d) {
      for (const buf of packet.d)
        handler.onData(new DataView(buf).getUint32(0, true), new Uint8Array(buf, FRAME_HEADROOM));
    }
    if (packet.c) {
      const c = packet.c;
      for (let i = 0; i + 1 < c.length; i += 2) handler.onCredit(c[i]!, c[i + 1]!);
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushBound);
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed || (this.frames.length === 0 && this.credits.size === 0)) return;
    const packet: ConnectionPacket = {};
    if (this.frames.length > 0) packet.d = this.frames;
    if (this.credits.size > 0) {
      const c: number[] = [];
      for (const [ch, n] of this.credits) c.push(ch, n);
      packet.c = c;
    }
    this.frames = [];
    this.credits = new Map();
    this.send(packet);
  }
}

/** The whole frame (headroom included) around an event a connection delivered. */
export function frameOf(event: Uint8Array): Uint8Array {
  return new Uint8Array(event.buffer, event.byteOffset - FRAME_HEADROOM, event.byteLength + FRAME_HEADROOM);
}
