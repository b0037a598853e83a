/**
 * Entry of a slot's worker thread (the local mini-cluster's and a
 * TaskManager's): re-runs the program's plan (checking the plan hash),
 * builds the slot's subtasks — decoding the snapshots they restore from —,
 * wires them to the other slots, reports to the host and relays its
 * checkpoint commands to the tasks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StreamGraph, StreamNode } from '@freshet/graph';
import { NetworkEnvironment } from '../network/environment.js';
import type { PeerConnection } from '../network/connection.js';
import type { StreamOperator } from '../operator.js';
import { computePlanHash, loadStreamGraph, PlanMismatchError, type ProgramSpec } from '../program/index.js';
import { restoredSnapshotsOf } from '../checkpoint/snapshot-codec.js';
import { executionKey } from '../executiongraph/execution-id.js';
import {
  defaultOperatorFactory,
  deploySlot,
  type OperatorFactory,
  type TaskRestore,
} from '../task/deploy.js';
import { serializeError } from '../task/errors.js';
import { graphNeedsConnectors, loadConnectors } from '../io/connectors-module.js';
import type { StreamTask } from '../task/stream-task.js';
import type { AlignmentReportMessage, ExecutorMessage, SlotWorkerData, WorkerMessage } from './messages.js';
import { MessagePortConnection } from '../network/local/port-connection.js';
import { BEAT, BEAT_INTERVAL_MS, SLICE_SUBTASK, SLICE_VERTEX } from './watchdog.js';
import { SlotTaps } from './slot-taps.js';

interface Loader {
  loadStreamGraph(spec: ProgramSpec): Promise<StreamGraph>;
  computePlanHash?(graph: StreamGraph): string;
  createOperator?(node: StreamNode): StreamOperator;
}

const port = parentPort;
if (!port) throw new Error('slot-worker must run in a worker thread');
const data = workerData as SlotWorkerData;
const post = (m: WorkerMessage): void => {
  port.postMessage(m);
};
/** Posts a message carrying a snapshot, transferring its buffer (no copy). */
const postState = (m: WorkerMessage & { state: Uint8Array }): void => {
  port.postMessage(m, [m.state.buffer as ArrayBuffer]);
};

// Beats from the start, so a watchdog also sees a program whose plan never returns.
const watch = data.watchdog === undefined ? undefined : new Int32Array(data.watchdog);
if (watch !== undefined) {
  setInterval(() => {
    Atomics.add(watch, BEAT, 1);
  }, BEAT_INTERVAL_MS).unref();
}

let tasks: StreamTask[] = [];
let network: NetworkEnvironment | undefined;
let metricsTimer: ReturnType<typeof setInterval> | undefined;
let alignmentTimer: ReturnType<typeof setInterval> | undefined;
let remaining = 0;
let failed = false;
let shutDown = false;
const taps = new SlotTaps({ tasks: () => tasks, post });

function shutdown(): void {
  shutDown = true;
  if (metricsTimer) clearInterval(metricsTimer);
  metricsTimer = undefined;
  if (alignmentTimer) clearInterval(alignmentTimer);
  alignmentTimer = undefined;
  taps.close();
  network?.close();
  port!.close();
}

/** Whether a subtask is one of `keys` (`vertexId#subtask`). */
function subtaskFilter(keys: readonly string[]): (vertexId: string, subtask: number) => boolean {
  const set = new Set(keys);
  return (vertexId, subtask) => set.has(`${vertexId}#${subtask}`);
}

/** Marks the subtask whose slice runs in the watchdog memory (vertex index + 1; 0 between slices). */
function sliceMarker(memory: Int32Array): (task: StreamTask, running: boolean) => void {
  const index = new Map(data.jobGraph.vertices.map((v, i) => [v.id, i + 1]));
  return (task, running) => {
    Atomics.store(memory, SLICE_SUBTASK, task.subtaskIndex);
    Atomics.store(memory, SLICE_VERTEX, running ? (index.get(task.vertex.id) ?? 0) : 0);
  };
}

function cancelAll(): void {
  for (const t of tasks) t.cancel();
}

async function main(): Promise<void> {
  const loader: Loader = data.loader
    ? ((await import(data.loader)) as Loader)
    : { loadStreamGraph, computePlanHash };
  const graph = await loader.loadStreamGraph(data.program);
  const hash = (loader.computePlanHash ?? computePlanHash)(graph);
  // One plan run per co-located subtask of a vertex, so subtasks never share user function objects.
  const perSlot = Math.max(
    1,
    ...data.jobGraph.vertices.map((v) => Math.ceil(Math.max(0, v.parallelism - data.slot) / data.slots)),
  );
  const graphs: StreamGraph[] = [graph];
  for (let i = 1; i < perSlot; i++) graphs.push(await loader.loadStreamGraph(data.program));
  if (hash !== data.jobGraph.planHash) {
    throw new PlanMismatchError(
      `plan hash mismatch in slot ${data.slot}: the program planned to ${hash.slice(0, 12)}… but the job graph has ${data.jobGraph.planHash.slice(0, 12)}…; planning must be deterministic (no randomness, clock or environment in the plan)`,
    );
  }
  // The file sources and sinks are built on the connectors, which only the jobs that use them load.
  if (graphNeedsConnectors(graph)) await loadConnectors();
  const connections = new Map<number, PeerConnection>();
  for (const [slot, p] of Object.entries(data.peers))
    connections.set(Number(slot), new MessagePortConnection(p));
  if (data.uplink) {
    // One relay connection for every slot of other processes (the environment opens it once).
    const uplink = new MessagePortConnection(data.uplink);
    for (const slot of data.remoteSlots ?? []) connections.set(slot, uplink);
  }
  const net = new NetworkEnvironment(
    data.initialCredits === undefined
      ? { slot: data.slot, connections }
      : { slot: data.slot, connections, initialCredits: data.initialCredits },
  );
  network = net;
  const custom = loader.createOperator
    ? (node: StreamNode): StreamOperator => loader.createOperator!(node)
    : undefined;
  const factory: OperatorFactory = custom
    ? (node, sink) =>
        node.kind === 'source' || node.kind === 'sink' ? defaultOperatorFactory(node, sink) : custom(node)
    : defaultOperatorFactory;
  const n = data.slots;
  const deployment: Parameters<typeof deploySlot>[0] = {
    jobGraph: data.jobGraph,
    streamGraph: graph,
    slot: data.slot,
    slotOf: (_vertex, subtask) => subtask % n,
    ...(data.subtasks === undefined ? {} : { runs: subtaskFilter(data.subtasks) }),
    streamGraphFor: (_vertex, subtask) => graphs[Math.floor(subtask / n)] ?? graph,
    network: net,
    createOperator: factory,
    sink: {
      collect: (id, values) => {
        post({ type: 'collect', id, values });
      },
    },
    hooks: {
      onFinished: (task) => {
        // An aligned source that ended holds its group back no longer: say so at once.
        if (task.alignmentReport() !== undefined) reportAlignment();
        post({ type: 'taskFinished', metrics: task.sampleMetrics() });
        remaining--;
        if (remaining === 0 && !failed) post({ type: 'slotFinished' });
      },
      onFailed: (task, error) => {
        if (failed) return;
        failed = true;
        post({ type: 'failed', error, vertexId: task.vertex.id, subtask: task.subtaskIndex });
        cancelAll();
      },
      onCheckpoint: (task, snapshot) => {
        postState({ type: 'checkpoint', vertexId: task.vertex.id, subtask: task.subtaskIndex, ...snapshot });
      },
      onFinalState: (task, snapshot) => {
        postState({ type: 'finalState', vertexId: task.vertex.id, subtask: task.subtaskIndex, ...snapshot });
      },
      onCheckpointDeclined: (task, checkpointId, reason) => {
        post({
          type: 'declineCheckpoint',
          vertexId: task.vertex.id,
          subtask: task.subtaskIndex,
          checkpointId,
          reason,
        });
      },
      ...(watch === undefined ? {} : { onSlice: sliceMarker(watch) }),
    },
    attempt: data.attempt ?? 0,
    jobId: data.jobId ?? '',
    checkpointing: {
      mode: data.jobGraph.checkpointing?.mode ?? 'EXACTLY_ONCE',
      finalCheckpoint: data.finalCheckpoints === true,
    },
    alignWatermarks: data.alignWatermarks === true,
    blockingExchanges: data.blockingExchanges === true,
  };
  const restore = data.restore;
  if (restore) {
    deployment.restoreFor = (vertexId, subtask): TaskRestore | undefined => {
      const r = restore.subtasks[executionKey(vertexId, subtask)];
      if (!r) return undefined;
      return { checkpointId: restore.checkpointId, snapshots: restoredSnapshotsOf(r.states), final: r.final };
    };
  }
  if (data.settings) deployment.settings = data.settings;
  tasks = deploySlot(deployment);
  remaining = tasks.length;
  // Shut down while still planning: release what was just built, or its ports keep the thread alive.
  if (shutDown) {
    shutdown();
    return;
  }
  const collectIds = graph.nodes.flatMap((node) =>
    node.spec.sink?.type === 'collect' ? [node.spec.sink.id] : [],
  );
  post({ type: 'ready', tasks: tasks.length, collectIds });
}

/** Posts the watermarks of the slot's aligned sources (none: nothing to post). */
function reportAlignment(): void {
  const reports: AlignmentReportMessage[] = [];
  for (const t of tasks) {
    const r = t.alignmentReport();
    if (r === undefined) continue;
    const { updateIntervalMs: _interval, ...report } = r;
    reports.push(report);
  }
  if (reports.length > 0) post({ type: 'alignment', reports });
}

/** Reports the aligned sources' watermarks every (smallest) update interval, the first at once. */
function startAlignmentReports(): void {
  const intervals = tasks.flatMap((t) => t.alignmentReport()?.updateIntervalMs ?? []);
  if (intervals.length === 0) return;
  reportAlignment();
  alignmentTimer = setInterval(reportAlignment, Math.min(...intervals));
}

port.on('message', (m: ExecutorMessage) => {
  switch (m.type) {
    case 'start':
      // A start queued behind a shutdown must not start timers that keep the thread alive.
      if (shutDown) return;
      metricsTimer = setInterval(() => {
        post({ type: 'metrics', metrics: tasks.map((t) => t.sampleMetrics()) });
      }, data.metricsIntervalMs);
      for (const t of tasks) t.start();
      startAlignmentReports();
      if (tasks.length === 0) post({ type: 'slotFinished' });
      return;
    case 'cancel':
      cancelAll();
      return;
    case 'triggerCheckpoint':
      for (const t of tasks)
        if (t.vertex.isSource) t.triggerCheckpoint(m.checkpointId, m.timestamp, m.stopSources === true);
      return;
    case 'drainSources':
      for (const t of tasks) if (t.vertex.isSource) t.drain();
      return;
    case 'notifyCheckpointComplete':
      for (const t of tasks) t.notifyCheckpointComplete(m.checkpointId);
      return;
    case 'notifyCheckpointAborted':
      for (const t of tasks) t.notifyCheckpointAborted(m.checkpointId);
      return;
    case 'finishTasks': {
      const names = new Set(m.tasks.map((r) => executionKey(r.vertexId, r.subtask)));
      for (const t of tasks)
        if (names.has(executionKey(t.vertex.id, t.subtaskIndex))) t.finish(m.checkpointId);
      return;
    }
    case 'allowWatermarks':
      for (const a of m.announcements)
        for (const t of tasks) t.allowWatermark(a.group, a.maxAllowedWatermark);
      return;
    case 'tapEdge':
      if (!shutDown) taps.tap(m.edgeId, m.ttlMs, m.maxPerSecond);
      return;
    case 'untapEdge':
      taps.untap(m.edgeId);
      return;
    case 'shutdown':
      cancelAll();
      shutdown();
      return;
  }
});

main().catch((error: unknown) => {
  failed = true;
  post({ type: 'failed', error: serializeError(error, { subtask: data.slot }) });
});
