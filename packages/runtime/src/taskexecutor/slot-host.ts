/**
 * Starting the slots of a job in this process and wiring them to each other:
 * the one module of the task executor that knows a slot is a worker thread.
 * {@link ClusterJob} and the local mini-cluster talk to their slots only
 * through a {@link SlotHandle} and the messages of `messages.ts`, so hosting
 * a job's slots elsewhere (a child process per job) changes this module, not
 * the job execution.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ExecutorMessage, SlotWorkerData, WorkerMessage } from './messages.js';
import { siblingModule, startWorker } from './spawn.js';

const slotWorkerEntry = siblingModule(import.meta.url, 'slot-worker');

/** What a slot tells its host. */
export interface SlotListener {
  onMessage(message: WorkerMessage): void;
  /** The slot crashed (an uncaught exception outside the task loop). */
  onError(error: Error): void;
  /** The slot is gone (after a shutdown, a crash or {@link SlotHandle.terminate}). */
  onExit(code: number): void;
}

/** A running slot, as its host sees it. */
export interface SlotHandle {
  /** Sends a message to the slot; dropped when the slot has already exited. */
  post(message: ExecutorMessage): void;
  /** Resolves once the slot has exited. */
  readonly exited: Promise<void>;
  /** Stops the slot at once (stragglers after a shutdown). */
  terminate(): void;
}

/**
 * One MessageChannel per pair of `slots` (in ascending order): for each slot,
 * its ports to the others, keyed by the other slot's index.
 */
export function connectSlots(slots: readonly number[]): Map<number, Record<string, MessagePort>> {
  const ports = new Map<number, Record<string, MessagePort>>();
  for (const a of slots) ports.set(a, {});
  for (const a of slots) {
    for (const b of slots) {
      if (b <= a) continue;
      const { port1, port2 } = new MessageChannel();
      ports.get(a)![String(b)] = port1;
      ports.get(b)![String(a)] = port2;
    }
  }
  return ports;
}

/**
 * Starts the slot described by `data`; it takes over what `transfer` lists
 * (the ports inside `data`, and the ArrayBuffers of the snapshots in `data.restore`).
 */
export function startSlot(
  data: SlotWorkerData,
  transfer: readonly (MessagePort | ArrayBuffer)[],
  name: string,
  listener: SlotListener,
): SlotHandle {
  const worker = startWorker(slotWorkerEntry, { workerData: data, transferList: [...transfer], name });
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      resolve();
    });
  });
  worker.on('message', (m: WorkerMessage) => {
    listener.onMessage(m);
  });
  worker.on('error', (error) => {
    listener.onError(error);
  });
  worker.on('exit', (code) => {
    listener.onExit(code);
  });
  return {
    post: (message) => {
      try {
        worker.postMessage(message);
      } catch {
        // The slot already exited.
      }
    },
    exited,
    terminate: () => {
      void worker.terminate();
    },
  };
}
