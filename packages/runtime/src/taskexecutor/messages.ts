/** Messages between the local executor (main thread) and its slot workers. */
import type { JobGraph } from '@freshet/graph';
import type { MessagePort } from 'node:worker_threads';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { SubtaskMetrics } from '../task/metrics.js';
import type { TaskSettings } from '../task/stream-task.js';

/** Data a slot worker starts with. */
export interface SlotWorkerData {
  slot: number;
  slots: number;
  jobGraph: JobGraph;
  program: ProgramSpec;
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
  /** Slots reached through {@link SlotWorkerData.uplink}. */
  remoteSlots?: number[];
  settings?: Partial<TaskSettings>;
  initialCredits?: number;
  /** How often subtask metrics are reported, in ms. */
  metricsIntervalMs: number;
}

/** Worker → executor. */
export type WorkerMessage =
  | { type: 'ready'; tasks: number; collectIds: string[] }
  | { type: 'collect'; id: string; values: unknown[] }
  | { type: 'metrics'; metrics: SubtaskMetrics[] }
  | { type: 'taskFinished'; metrics: SubtaskMetrics }
  | { type: 'slotFinished' }
  | { type: 'failed'; error: SerializedError; vertexId?: string; subtask?: number }
  | { type: 'checkpoint'; vertexId: string; subtask: number; checkpointId: number; snapshots: unknown };

/** Executor → worker. */
export type ExecutorMessage =
  | { type: 'start' }
  | { type: 'cancel' }
  | { type: 'shutdown' }
  | { type: 'triggerCheckpoint'; checkpointId: number; timestamp: number };
