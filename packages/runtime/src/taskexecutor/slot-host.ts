/**
 * Starting the slots of a job and wiring them to each other: the one module
 * of the task executor that knows a slot is a worker thread of this process.
 * {@link ClusterJob} and the local mini-cluster talk to their slots only
 * through a {@link SlotHandle}, the messages of `messages.ts` and, for a
 * TaskManager's slots, a {@link SlotLauncher}: {@link threadSlots} starts
 * them here, `process-host.ts` in a child process per job.
 */
import { MessageChannel, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import type { PeerConnection } from '../network/connection.js';
import { MessagePortConnection } from '../network/local/port-connection.js';
import type { ExecutorMessage, SlotWorkerData, WorkerMessage } from './messages.js';
import { siblingModule, startWorker } from './spawn.js';
import type { FlameNode } from '../profiling/flame-tree.js';

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
  /** The worker thread's id, where the slot is a thread of this process. */
  readonly threadId?: number;
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
  resourceLimits?: ResourceLimits,
): SlotHandle {
  const worker = startWorker(slotWorkerEntry, {
    workerData: data,
    transferList: [...transfer],
    name,
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
  });
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
    threadId: worker.threadId,
  };
}

/** One slot of a job to start: its worker data without the ports, which the launcher wires. */
export type SlotSpec = Omit<SlotWorkerData, 'peers' | 'uplink' | 'remoteSlots'>;

/** A slot's connection to the thread that relays for it to the slots of other TaskManagers. */
export interface SlotUplink {
  conn: PeerConnection;
  /** Resolves once the slot's end is gone (everything it sent has arrived). */
  closed: Promise<void>;
}

/** The slots of one job a launcher started. */
export interface StartedSlots {
  handles: Map<number, SlotHandle>;
  /** One per slot when the job has slots on other TaskManagers. */
  uplinks: Map<number, SlotUplink>;
  /** Releases what hosts the slots once every slot exited (ends a job's child process). */
  dispose(): void;
  /**
   * A CPU profile of every thread hosting the slots, for `durationMs`
   * (`process-profiler.ts`); absent where the slots share the host's own
   * process (the mini-cluster).
   */
  profile?(durationMs: number): Promise<FlameNode>;
}

/** What a launcher starts: a job's slots on this TaskManager. */
export interface SlotLaunch {
  jobId: string;
  slots: readonly SlotSpec[];
  /** Slots of the job on other TaskManagers: each local slot reaches them through its uplink. */
  remoteSlots: readonly number[];
  listener: (slot: number) => SlotListener;
}

/** Starts the slots of one job, wired to each other, with an uplink each when the job spans TaskManagers. */
export interface SlotLauncher {
  start(launch: SlotLaunch): StartedSlots;
}

/**
 * A launcher of slots as worker threads of this process (each with
 * `resourceLimits` when given): the local mini-cluster's way, and what a
 * job's child process runs inside.
 */
export function threadSlots(resourceLimits?: ResourceLimits): SlotLauncher {
  return {
    start({ jobId, slots, remoteSlots, listener }) {
      const ports = connectSlots(slots.map((s) => s.slot));
      const handles = new Map<number, SlotHandle>();
      const uplinks = new Map<number, SlotUplink>();
      for (const spec of slots) {
        const data: SlotWorkerData = { ...spec, peers: ports.get(spec.slot)! };
        const transfer: MessagePort[] = Object.values(data.peers);
        if (remoteSlots.length > 0) {
          const { port1, port2 } = new MessageChannel();
          data.uplink = port2;
          data.remoteSlots = [...remoteSlots];
          transfer.push(port2);
          const closed = new Promise<void>((resolve) =>
            port1.once('close', () => {
              resolve();
            }),
          );
          uplinks.set(spec.slot, { conn: new MessagePortConnection(port1), closed });
        }
        const name = `freshet-${jobId}-slot-${spec.slot}`;
        handles.set(spec.slot, startSlot(data, transfer, name, listener(spec.slot), resourceLimits));
      }
      return { handles, uplinks, dispose: () => undefined };
    },
  };
}
