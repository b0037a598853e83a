/**
 * A connection to another slot or process: the one piece of the data plane
 * that depends on the transport. Slots of one process talk over a MessagePort
 * between worker threads (`local/port-connection.ts`); TaskManagers talk over
 * TCP (`tcp/`: one connection per TaskManager pair and job attempt,
 * multiplexing all channels between them).
 */

/** Bytes at the start of every data frame reserved for the transport (channel id, length). */
export const FRAME_HEADROOM = 8;

/** Receives what arrives on a connection. */
export interface ConnectionHandler {
  /** An encoded channel event for `channel` (starting after the headroom). */
  onData(channel: number, event: Uint8Array): void;
  /** The consumer of `channel` grants `credits` more data batches. */
  onCredit(channel: number, credits: number): void;
}

/** A bidirectional, ordered connection carrying many channels. */
export interface PeerConnection {
  /**
   * Sends an encoded event. `frame` starts with {@link FRAME_HEADROOM} free
   * bytes the connection may overwrite; ownership passes to the connection
   * (its buffer may be transferred).
   */
  sendData(channel: number, frame: Uint8Array): void;
  /** Grants the producer of `channel` more credits. */
  sendCredit(channel: number, credits: number): void;
  /** Starts delivering incoming frames to `handler`. */
  open(handler: ConnectionHandler): void;
  /** Stops delivering and releases the transport. */
  close(): void;
}
