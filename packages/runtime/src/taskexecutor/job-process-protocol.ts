/**
 * Messages between a TaskManager and the child process that hosts one
 * job's slots (`process-host.ts` ↔ `job-process.ts`), over the child's IPC
 * channel with Node's advanced (structured clone) serialization, so
 * snapshots and frames travel as bytes. `s` is a slot index.
 */
import type { ConnectionPacket } from '../network/local/packet-connection.js';
import type { ExecutorMessage, WorkerMessage } from './messages.js';
import type { SlotSpec } from './slot-host.js';
import type { FlameNode } from '../profiling/flame-tree.js';

/** The first message to the child: what to run. */
export interface JobProcessInit {
  t: 'init';
  jobId: string;
  /** The program bundle's text: the child writes it into its private directory (the TaskManager's are not mounted). */
  bundleSource: string;
  /** The child's private, writable directory. */
  workDir: string;
  /** Where its tasks spill BATCH input grouped by key (a host directory mounted for it); absent: the default. */
  spillDir?: string;
  slots: SlotSpec[];
  remoteSlots: number[];
  /** V8 old-space limit of each slot's worker thread, in MiB. */
  heapMiB: number;
  /** A slot whose user code has not returned for this long is stopped and its job fails; 0: never. */
  watchdogMs: number;
}

/** TaskManager → job process. */
export type ToJobProcess =
  | JobProcessInit
  /** A message for slot `s`. */
  | { t: 'm'; s: number; m: ExecutorMessage }
  /** Stop slot `s` at once. */
  | { t: 'k'; s: number }
  /** Frames and credits for slot `s`'s uplink (from other TaskManagers). */
  | ({ t: 'u'; s: number } & ConnectionPacket)
  /** Every slot exited: end the process. */
  | { t: 'bye' }
  /** Take CPU profile `id` of the process's threads for `durationMs` (`process-profiler.ts`). */
  | { t: 'prof'; id: number; durationMs: number };

/** Job process → TaskManager. */
export type FromJobProcess =
  /** A message from slot `s`. */
  | { t: 'w'; s: number; m: WorkerMessage }
  /** Slot `s` crashed (its worker's error event: an uncaught exception, or its heap limit). */
  | { t: 'e'; s: number; error: { name: string; message: string; stack?: string } }
  /** Slot `s` exited. */
  | { t: 'x'; s: number; code: number }
  /** Frames and credits from slot `s`'s uplink (to other TaskManagers). */
  | ({ t: 'u'; s: number } & ConnectionPacket)
  /** Slot `s`'s uplink closed: everything it sent went out. */
  | { t: 'uc'; s: number }
  /** CPU profile `id` as a flame tree, or why it could not be taken. */
  | { t: 'prof'; id: number; tree?: FlameNode; error?: string };
