/**
 * Builds the subtasks one slot runs from a JobGraph and the StreamGraph the
 * slot re-created by running the program's plan: instantiates each chain's
 * operators, and creates the slot's ends of every channel through the network
 * environment (in-memory when both ends share the slot). The same code serves
 * the local mini-cluster and TaskManagers.
 */
import type { JobGraph, JobVertex, StreamGraph, StreamNode } from '@freshet/graph';
import { createSinkOperator, type SinkContext } from '../io/sinks.js';
import { createSourceOperator } from '../io/sources.js';
import type { NetworkEnvironment } from '../network/environment.js';
import {
  BLOCKING_PEER_SLOT,
  ChannelTopology,
  consumersOf,
  isBlockingEdge,
  producersOf,
} from '../network/topology.js';
import type { InputChannel } from '../network/input-channel.js';
import type { OperatorSnapshot, StreamOperator } from '../operator.js';
import { createOperator as createTransformOperator } from '../operators/create.js';
import {
  isKeyGroupedOperator,
  KeyGroupedInputOperator,
  type KeyGroupedInputOptions,
} from '../operators/key-grouped-input.js';
import {
  DEFAULT_TASK_SETTINGS,
  StreamTask,
  type ChainMember,
  type TaskCheckpointing,
  type TaskHooks,
  type TaskOutput,
  type TaskSettings,
} from './stream-task.js';

/** Creates the operator of a node (sources and sinks from `io/`, transforms from `operators/`). */
export type OperatorFactory = (node: StreamNode, sink: SinkContext) => StreamOperator;

/** The default {@link OperatorFactory}. */
export const defaultOperatorFactory: OperatorFactory = (node, sink) => {
  if (node.kind === 'source') return createSourceOperator(node);
  if (node.kind === 'sink') return createSinkOperator(node, sink);
  return createTransformOperator(node);
};

/** What a slot needs to build its subtasks. */
export interface SlotDeployment {
  jobGraph: JobGraph;
  streamGraph: StreamGraph;
  /**
   * The StreamGraph whose user functions subtask `subtask` of `vertexId` uses.
   * Subtasks of one vertex sharing a slot must not share function objects
   * (a rich function keeps per-instance fields), so a slot re-runs the plan
   * once per co-located subtask. @default () => streamGraph
   */
  streamGraphFor?: (vertexId: string, subtask: number) => StreamGraph;
  /** This slot. */
  slot: number;
  /** Slot that runs subtask `subtask` of `vertexId` (the same function on every slot). */
  slotOf: (vertexId: string, subtask: number) => number;
  /** Whether this deployment runs subtask `subtask` of `vertexId` (one pipelined region of the job). @default every subtask of the slot */
  runs?: (vertexId: string, subtask: number) => boolean;
  network: NetworkEnvironment;
  hooks: TaskHooks;
  sink: SinkContext;
  /** @default defaultOperatorFactory */
  createOperator?: OperatorFactory;
  settings?: Partial<TaskSettings>;
  attempt?: number;
  /** Id of the job (user functions see it in their runtime context). @default '' */
  jobId?: string;
  /** What subtask `subtask` of `vertexId` restores from; undefined = a fresh start. */
  restoreFor?: (vertexId: string, subtask: number) => TaskRestore | undefined;
  checkpointing?: TaskCheckpointing;
  /** The host coordinates watermark alignment (see {@link StreamTaskConfig.alignWatermarks}). @default false */
  alignWatermarks?: boolean;
  /**
   * The job runs in stages (a staged BATCH job): the channels of blocking
   * edges (`isBlockingEdge`) reach {@link BLOCKING_PEER_SLOT}, the host's
   * partition store, instead of their far end's slot. @default false
   */
  blockingExchanges?: boolean;
}

/** What one subtask restores from. */
export interface TaskRestore {
  /** The checkpoint the state comes from. */
  checkpointId: number;
  /** Per StreamNode id: the snapshots of the former subtasks (one at an unchanged parallelism). */
  snapshots: ReadonlyMap<number, readonly OperatorSnapshot[]>;
  /** The state is the subtask's final state: it finishes at once. */
  final: boolean;
}

/** Builds (but does not start) every subtask assigned to `d.slot`. */
export function deploySlot(d: SlotDeployment): StreamTask[] {
  const { jobGraph, streamGraph, network } = d;
  const topology = new ChannelTopology(jobGraph);
  const nodes = new Map<number, StreamNode>();
  for (const n of streamGraph.nodes) nodes.set(n.id, n);
  const vertices = new Map<string, JobVertex>();
  for (const v of jobGraph.vertices) vertices.set(v.id, v);
  const factory = d.createOperator ?? defaultOperatorFactory;
  const blockingEdge = (edge: JobGraph['edges'][number]): boolean =>
    d.blockingExchanges === true && isBlockingEdge(jobGraph, edge);
  const node = (id: number): StreamNode => {
    const n = nodes.get(id);
    if (!n)
      throw new Error(
        `the program's plan has no operator with id ${id}; was it planned with other arguments?`,
      );
    return n;
  };
  const job = streamGraph.config;
  const tasks: StreamTask[] = [];
  // A BATCH job that takes no checkpoint before its input ends (a staged job takes none; a pipelined
  // one only when checkpointing is enabled) re-runs a failed region from scratch. Its keyed heads read
  // their input grouped by key (no checkpoint can find it buffered), and its collect sinks ship their
  // records only at the end (an attempt that fails first ships none, so a re-run adds no duplicates).
  const fromScratch =
    job.runtimeMode === 'BATCH' && (d.blockingExchanges === true || job.checkpointing === undefined);
  const sink: SinkContext = fromScratch
    ? {
        collect: (id, values) => {
          d.sink.collect(id, values);
        },
        commitAtEnd: true,
      }
    : d.sink;
  const groupedOptions: KeyGroupedInputOptions = {
    memoryBytes: d.settings?.groupedInputMemoryBytes ?? DEFAULT_TASK_SETTINGS.groupedInputMemoryBytes,
  };
  if (d.settings?.groupedInputDir !== undefined) groupedOptions.dir = d.settings.groupedInputDir;

  const groupedInput = fromScratch && jobGraph.stateBackend !== 'disk';
  for (const vertex of jobGraph.vertices) {
    const ids = new Set(vertex.operators.map((o) => o.nodeId));
    const chainEdges = streamGraph.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
    for (let s = 0; s < vertex.parallelism; s++) {
      if (d.slotOf(vertex.id, s) !== d.slot || d.runs?.(vertex.id, s) === false) continue;
      const own = d.streamGraphFor?.(vertex.id, s);
      const hasInputs = jobGraph.edges.some((e) => e.target === vertex.id);
      const chain: ChainMember[] = vertex.operators.map((o, i) => {
        const n = own ? (own.nodes.find((x) => x.id === o.nodeId) ?? node(o.nodeId)) : node(o.nodeId);
        const operator = factory(n, sink);
        // On the disk state backend the state is bounded by the store, not the heap: input as it comes.
        if (i === 0 && hasInputs && groupedInput && n.keyed && isKeyGroupedOperator(operator)) {
          return { node: n, operator: new KeyGroupedInputOperator(operator, groupedOptions) };
        }
        return { node: n, operator };
      });

      const inputs: InputChannel[] = [];
      for (const edge of jobGraph.edges) {
        if (edge.target !== vertex.id) continue;
        const P = topology.parallelismOf(edge.source);
        const blocking = blockingEdge(edge);
        for (const p of producersOf(edge.partitioning, s, P, vertex.parallelism)) {
          inputs.push(
            network.createInputChannel(
              topology.channelId(edge, p, s),
              blocking ? BLOCKING_PEER_SLOT : d.slotOf(edge.source, p),
              edge.inputIndex,
            ),
          );
        }
      }

      const outputs: TaskOutput[] = [];
      for (const edge of jobGraph.edges) {
        if (edge.source !== vertex.id) continue;
        const target = vertices.get(edge.target);
        if (!target) throw new Error(`edge ${edge.id} targets unknown vertex ${edge.target}`);
        const blocking = blockingEdge(edge);
        const channels = consumersOf(edge.partitioning, s, vertex.parallelism, target.parallelism).map((c) =>
          network.createOutputChannel(
            topology.channelId(edge, s, c),
            blocking ? BLOCKING_PEER_SLOT : d.slotOf(edge.target, c),
          ),
        );
        const targetNode = node(edge.targetNodeId);
        const key = edge.inputIndex === 1 ? targetNode.fns.key2 : targetNode.fns.key;
        if (edge.partitioning === 'HASH' && typeof key !== 'function') {
          throw new Error(`HASH edge ${edge.id}: operator '${targetNode.name}' has no key selector`);
        }
        const partitioner: TaskOutput['partitioner'] = {
          partitioning: edge.partitioning,
          maxParallelism: target.maxParallelism,
        };
        if (key) partitioner.key = key;
        if (edge.partitioning === 'CUSTOM') {
          const custom =
            edge.customPartitioner === undefined
              ? undefined
              : targetNode.fns.partitioners?.[edge.customPartitioner];
          if (!custom)
            throw new Error(`CUSTOM edge ${edge.id}: operator '${targetNode.name}' has no partitioner`);
          partitioner.custom = custom;
        }
        outputs.push({ edge, channels, partitioner, keyOperatorName: targetNode.name });
      }

      const config: ConstructorParameters<typeof StreamTask>[0] = {
        job,
        vertex,
        subtaskIndex: s,
        attempt: d.attempt ?? 0,
        jobId: d.jobId ?? '',
        chain,
        chainEdges,
        inputs,
        outputs,
        hooks: d.hooks,
      };
      if (d.settings) config.settings = d.settings;
      if (d.checkpointing) config.checkpointing = d.checkpointing;
      if (d.alignWatermarks) config.alignWatermarks = true;
      const restore = d.restoreFor?.(vertex.id, s);
      if (restore) {
        config.restored = restore.snapshots;
        config.restoredCheckpointId = restore.checkpointId;
        config.restoredFinal = restore.final;
      }
      tasks.push(new StreamTask(config));
    }
  }
  return tasks;
}
