/**
 * Messages between a slot worker and its host (the local mini-cluster, or a
 * TaskManager's `ClusterJob`). Plain structured-clone data only — no
 * functions, no class instances — so the slots of a job can move into a
 * child process per job without changing them. Snapshot bytes are
 * transferred, not copied (each buffer owns its ArrayBuffer): the host lists
 * them in the transfer list of `SlotWorkerData.restore`, the worker in that
 * of `checkpoint` and `finalState`.
 */
import type { JobGraph } from '@freshet/graph';
import type { MessagePort } from 'node:worker_threads';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { SubtaskMetrics } from '../task/metrics.js';
import type { TaskSettings } from '../task/stream-task.js';
import type { AlignmentReport } from '../task/source-alignment.js';
import type { AlignmentAnnouncement } from '../executiongraph/watermark-alignment.js';
import type { TapSample } from '../network/edge-tap.js';

/** What one subtask restores from: its encoded snapshots (`encodeSubtaskSnapshot`), one per former subtask. */
export interface SubtaskRestore {
  states: Uint8Array[];
  /** The state is the subtask's final state: it commits and finishes at once. */
  final: boolean;
}

/** The state a slot's subtasks restore from. */
export interface SlotRestore {
  checkpointId: number;
  /** By `vertexId#subtask`; a subtask without an entry starts fresh. */
  subtasks: Record<string, SubtaskRestore>;
}

/** Data a slot worker starts with. */
export interface SlotWorkerData {
  slot: number;
  slots: number;
  jobGraph: JobGraph;
  program: ProgramSpec;
  /** Id of the job (user functions see it in their runtime context). @default '' */
  jobId?: string;
  /** The job attempt this slot runs (user functions see it as `attempt`; files a sink writes carry it). @default 0 */
  attempt?: number;
  /** Module exporting `loadStreamGraph` (and optionally `computePlanHash`, `createOperator`) to use instead of the program loader. */
  loader?: string;
  /** Ports to the other slots, by slot index (as strings, structured clone keeps keys). */
  peers: Record<string, MessagePort>;
  /**
   * Port to the host thread that relays to slots of other processes (a
   * TaskManager's data plane); the slots in {@link SlotWorkerData.remoteSlots}
   * are all reached through it (channel ids are unique per job).
   */
  uplink?: MessagePort;
  /** Slots reached through {@link SlotWorkerData.uplink} (with `BLOCKING_PEER_SLOT` for a staged job's partitions). */
  remoteSlots?: number[];
  /** The job runs in stages: blocking channels go through the uplink to the host's partition store. @default false */
  blockingExchanges?: boolean;
  settings?: Partial<TaskSettings>;
  initialCredits?: number;
  /** How often subtask metrics are reported, in ms. */
  metricsIntervalMs: number;
  /**
   * The host runs a checkpoint coordinator: a task whose input ended sends
   * `finalState` and waits for `finishTasks`. Without it (a host that does
   * not coordinate checkpoints yet) a task commits and finishes at once.
   * @default false
   */
  finalCheckpoints?: boolean;
  /** State to restore (the buffers are in the transfer list). */
  restore?: SlotRestore;
  /** Only these subtasks (`vertexId#subtask`) of the slot run (one pipelined region); default: all of the slot's. */
  subtasks?: string[];
  /**
   * The host coordinates watermark alignment: the slot reports its aligned
   * sources' watermarks (`alignment`) and passes on `allowWatermarks`.
   * @default false
   */
  alignWatermarks?: boolean;
  /** Shared memory the worker beats into and marks its slices in, for a watchdog (`watchdog.ts`). */
  watchdog?: SharedArrayBuffer;
}

/** One subtask, as messages name it. */
export interface SubtaskRef {
  vertexId: string;
  subtask: number;
}

/** Worker → host. */
export type WorkerMessage =
  | { type: 'ready'; tasks: number; collectIds: string[] }
  | { type: 'collect'; id: string; values: unknown[] }
  | { type: 'metrics'; metrics: SubtaskMetrics[] }
  | { type: 'taskFinished'; metrics: SubtaskMetrics }
  | { type: 'slotFinished' }
  | { type: 'failed'; error: SerializedError; vertexId?: string; subtask?: number }
  /** A subtask's snapshot for a checkpoint (transferred): the host stores it, then acknowledges it. */
  | {
      type: 'checkpoint';
      vertexId: string;
      subtask: number;
      checkpointId: number;
      state: Uint8Array;
      /** The earlier checkpoints whose pieces the (incremental) snapshot refers to; empty for a full one. */
      pieces: number[];
      alignmentMs: number;
      syncMs: number;
      /** Packing after the barrier (an asynchronous snapshot). */
      encodeMs?: number;
    }
  /** A subtask's final state (transferred); it waits for `finishTasks`. */
  | {
      type: 'finalState';
      vertexId: string;
      subtask: number;
      afterCheckpointId: number;
      state: Uint8Array;
      syncMs: number;
    }
  /** A subtask could not take a checkpoint. */
  | { type: 'declineCheckpoint'; vertexId: string; subtask: number; checkpointId: number; reason: string }
  /** The watermarks of the slot's aligned sources, every alignment update interval. */
  | { type: 'alignment'; reports: AlignmentReportMessage[] }
  /** Records a tapped edge's writers here sampled since the previous message (`slot-taps.ts`). */
  | { type: 'tapSamples'; edgeId: string; samples: TapSampleMessage[] };

/** A sampled record of a tapped edge, with the producing subtask. */
export type TapSampleMessage = TapSample & { vertexId: string; subtask: number };

/** An aligned source's watermark for its group's coordinator (MAX_WATERMARK: idle or ended). */
export type AlignmentReportMessage = AlignmentReport & { maxDriftMs: number };

/** Host → worker. */
export type ExecutorMessage =
  | { type: 'start' }
  | { type: 'cancel' }
  | { type: 'shutdown' }
  /** Inject barrier `checkpointId` at every running source subtask of the slot. */
  | { type: 'triggerCheckpoint'; checkpointId: number; timestamp: number; stopSources?: boolean }
  | { type: 'drainSources' }
  | { type: 'notifyCheckpointComplete'; checkpointId: number }
  | { type: 'notifyCheckpointAborted'; checkpointId: number }
  /** Checkpoint `checkpointId` holds these subtasks' final states: they commit and finish. */
  | { type: 'finishTasks'; checkpointId: number; tasks: SubtaskRef[] }
  /** The aligned sources of each group may emit watermarks up to its `maxAllowedWatermark`. */
  | { type: 'allowWatermarks'; announcements: AlignmentAnnouncement[] }
  /** Sample what the slot's subtasks write into edge `edgeId` for `ttlMs` (a renewal extends it). */
  | { type: 'tapEdge'; edgeId: string; ttlMs: number; maxPerSecond: number }
  /** Stop sampling edge `edgeId`. */
  | { type: 'untapEdge'; edgeId: string };
