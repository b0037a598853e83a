/**
 * {@link PeerConnection} over a MessagePort between two worker threads. Data
 * frames are transferred (never copied): the channel id goes into the frame's
 * headroom and all frames of one event-loop turn travel in one message, as do
 * the credits (summed per channel).
 */
import type { MessagePort } from 'node:worker_threads';
import type { ConnectionHandler, PeerConnection } from '../connection.js';
import { FRAME_HEADROOM } from '../connection.js';

interface Packet {
  /** Data frames (channel id in the first 4 bytes, event from byte {@link FRAME_HEADROOM}). */
  d?: ArrayBuffer[];
  /** Credits as [channel, credits, channel, credits, …]. */
  c?: number[];
}

/** A connection to another slot of the same process. */
export class MessagePortConnection implements PeerConnection {
  private frames: ArrayBuffer[] = [];
  private credits = new Map<number, number>();
  private flushQueued = false;
  private closed = false;
  private readonly flushBound = (): void => {
    this.flush();
  };

  constructor(private readonly port: MessagePort) {}

  sendData(channel: number, frame: Uint8Array): void {
    if (this.closed) return;
    if (frame.byteOffset !== 0 || frame.byteLength !== frame.buffer.byteLength) {
      frame = frame.slice();
    }
    new DataView(frame.buffer).setUint32(0, channel, true);
    this.frames.push(frame.buffer as ArrayBuffer);
    this.queueFlush();
  }

  sendCredit(channel: number, credits: number): void {
    if (this.closed) return;
    this.credits.set(channel, (this.credits.get(channel) ?? 0) + credits);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushBound);
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    const packet: Packet = {};
    if (this.frames.length > 0) packet.d = this.frames;
    if (this.credits.size > 0) {
      const c: number[] = [];
      for (const [ch, n] of this.credits) c.push(ch, n);
      packet.c = c;
    }
    const transfer = this.frames;
    this.frames = [];
    this.credits = new Map();
    this.port.postMessage(packet, transfer);
  }

  open(handler: ConnectionHandler): void {
    this.port.on('message', (packet: Packet) => {
      if (packet.d) {
        for (const buf of packet.d) {
          const channel = new DataView(buf).getUint32(0, true);
          handler.onData(channel, new Uint8Array(buf, FRAME_HEADROOM));
        }
      }
      if (packet.c) {
        const c = packet.c;
        for (let i = 0; i + 1 < c.length; i += 2) handler.onCredit(c[i]!, c[i + 1]!);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.port.close();
  }
}
