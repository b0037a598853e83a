/**
 * {@link PeerConnection} over a MessagePort between two worker threads. Data
 * frames are transferred (never copied): the channel id goes into the frame's
 * headroom and all frames of one event-loop turn travel in one message, as do
 * the credits (summed per channel) — the packets of `packet-connection.ts`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ConnectionHandler, PeerConnection } from '../connection.js';
import { PacketConnection, type ConnectionPacket } from './packet-connection.js';

/** A connection to another slot of the same process. */
export class MessagePortConnection implements PeerConnection {
  private readonly packets: PacketConnection;

  constructor(private readonly port: MessagePort) {
    this.packets = new PacketConnection((packet) => {
      port.postMessage(packet, packet.d ?? []);
    });
  }

  sendData(channel: number, frame: Uint8Array): void {
    this.packets.sendData(channel, frame);
  }

  sendCredit(channel: number, credits: number): void {
    this.packets.sendCredit(channel, credits);
  }

  open(handler: ConnectionHandler): void {
    this.packets.open(handler);
    this.port.on('message', (packet: ConnectionPacket) => {
      this.packets.deliver(packet);
    });
  }

  close(): void {
    this.packets.close();
    this.port.close();
  }
}
