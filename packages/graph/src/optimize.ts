/**
 * The optimizer: StreamGraph → JobGraph. Operators are fused into chains by
 * Flink's chaining rules, the remaining edges become exchanges with a
 * partitioning, and slot-sharing groups are propagated.
 *
 * An edge `A → B` is chained when all of these hold:
 *
 * 1. B has exactly one input edge;
 * 2. the edge's partitioning is FORWARD (explicit, or implied: an edge
 *    without partitioning is FORWARD between equal parallelisms and
 *    REBALANCE otherwise);
 * 3. A and B have equal parallelism (and equal max parallelism, since a
 *    vertex has one);
 * 4. A and B are in the same slot-sharing group;
 * 5. B's chaining strategy is ALWAYS (not HEAD = startNewChain(), not
 *    NEVER = disableChaining()) and A's is not NEVER;
 * 6. the edge carries A's main output, not a side output: a side output
 *    always leaves the chain through an exchange, so a chain is a straight
 *    line of main outputs and side outputs are routed by tag at the task's
 *    record writer;
 * 7. A's main output has exactly this one consumer. Flink chains fan-outs
 *    into trees; Freshet keeps chains linear (the JobVertex lists its
 *    operators in order, each operator's output is the next one), so a
 *    fan-out ends the chain and each consumer reads through an exchange.
 */
import { defineErrorClass, InvalidProgramError } from '@freshet/errors';
import { isReplayableSource } from './checkpointing.js';
import type { ChainedOperator, JobEdge, JobGraph, JobVertex } from './job-graph.js';
import type { Partitioning, StreamEdge, StreamGraph, StreamGraphJson } from './stream-graph.js';

/**
 * A StreamGraph that cannot become a JobGraph (e.g. a FORWARD edge between
 * different parallelisms). Code `INVALID_PROGRAM`.
 */
export class OptimizerError extends InvalidProgramError {
  static {
    defineErrorClass(this, 'OptimizerError', 'INVALID_PROGRAM');
  }
}

/** Slot-sharing group names that mean "not set explicitly" (Flink's default group). */
const DEFAULT_GROUP = 'default';

type Node = StreamGraphJson['nodes'][number];

interface ResolvedEdge {
  edge: StreamEdge;
  /** Position in the StreamGraph's edge list (a stable tie-breaker). */
  index: number;
  partitioning: Partitioning;
}

function describe(node: Node): string {
  return `'${node.name}' (node ${node.id})`;
}

/** A node as its chain lists it; a collect sink names its collect id (the JobManager accepts its records only from the TaskManager running it). */
function chainedOperator(n: Node): ChainedOperator {
  const op: ChainedOperator = { nodeId: n.id, kind: n.kind, name: n.name };
  if (n.uid !== undefined) op.uid = n.uid;
  if (n.spec.sink?.type === 'collect') op.collectId = n.spec.sink.id;
  return op;
}

/**
 * Turns a StreamGraph into a JobGraph. Deterministic: the same
 * StreamGraph always gives the same JobGraph (vertex ids `v<headNodeId>` in
 * topological order, ties broken by node id).
 *
 * @throws {OptimizerError} on a malformed graph, a cycle, a FORWARD edge
 *   between different parallelisms, or BATCH mode over an unbounded source.
 */
export function optimize(graph: StreamGraph | StreamGraphJson, planHash: string): JobGraph {
  const { config } = graph;
  const nodes = new Map<number, Node>();
  for (const node of graph.nodes) {
    if (nodes.has(node.id)) throw new OptimizerError(`Node id ${node.id} appears twice in the StreamGraph`);
    nodes.set(node.id, node);
  }
  const parallelism = (n: Node): number => n.parallelism ?? config.parallelism;
  const maxParallelism = (n: Node): number => n.maxParallelism ?? config.maxParallelism;
  for (const n of nodes.values()) {
    if (!Number.isInteger(parallelism(n)) || parallelism(n) < 1) {
      throw new OptimizerError(
        `Operator ${describe(n)} has parallelism ${parallelism(n)}; it must be a positive integer`,
      );
    }
    if (maxParallelism(n) < parallelism(n)) {
      throw new OptimizerError(
        `Operator ${describe(n)} has parallelism ${parallelism(n)} above its max parallelism ${maxParallelism(n)}; raise maxParallelism`,
      );
    }
  }

  const inputs = new Map<number, ResolvedEdge[]>();
  const outputs = new Map<number, ResolvedEdge[]>();
  for (const n of nodes.values()) {
    inputs.set(n.id, []);
    outputs.set(n.id, []);
  }
  graph.edges.forEach((edge, index) => {
    const source = nodes.get(edge.source);
    const target = nodes.get(edge.target);
    if (!source || !target) {
      throw new OptimizerError(`Edge ${edge.source} -> ${edge.target} refers to a node that does not exist`);
    }
    const sameParallelism = parallelism(source) === parallelism(target);
    if (edge.partitioning === 'FORWARD' && !sameParallelism) {
      throw new OptimizerError(
        `FORWARD edge from ${describe(source)} with parallelism ${parallelism(source)} to ${describe(target)} with parallelism ${parallelism(target)}: ` +
          'forward partitioning needs equal parallelism; use rebalance() or give both the same parallelism',
      );
    }
    const partitioning: Partitioning = edge.partitioning ?? (sameParallelism ? 'FORWARD' : 'REBALANCE');
    const resolved: ResolvedEdge = { edge, index, partitioning };
    inputs.get(target.id)!.push(resolved);
    outputs.get(source.id)!.push(resolved);
  });

  for (const n of nodes.values()) {
    const ins = inputs.get(n.id)!;
    if (n.inputs === 0 && ins.length > 0)
      throw new OptimizerError(`Source ${describe(n)} cannot have inputs`);
    if (n.inputs > 0 && !ins.some((e) => e.edge.inputIndex === 0)) {
      throw new OptimizerError(`Operator ${describe(n)} has no input`);
    }
    if (n.inputs === 2 && !ins.some((e) => e.edge.inputIndex === 1)) {
      throw new OptimizerError(`Two-input operator ${describe(n)} has no second input`);
    }
  }

  const order = topologicalOrder(nodes, inputs, outputs);

  // Slot-sharing groups (Flink's rule): an explicit group wins; otherwise an
  // operator inherits its inputs' group when they all agree, else 'default'.
  const group = new Map<number, string>();
  for (const n of order) {
    const explicit =
      n.slotSharingGroup && n.slotSharingGroup !== DEFAULT_GROUP ? n.slotSharingGroup : undefined;
    if (explicit) {
      group.set(n.id, explicit);
      continue;
    }
    const inputGroups = new Set(inputs.get(n.id)!.map((e) => group.get(e.edge.source)!));
    group.set(n.id, inputGroups.size === 1 ? [...inputGroups][0]! : DEFAULT_GROUP);
  }

  // Boundedness: a source as declared; any other operator when all its inputs are bounded.
  const bounded = new Map<number, boolean>();
  for (const n of order) {
    const ins = inputs.get(n.id)!;
    bounded.set(n.id, n.inputs === 0 ? n.bounded === true : ins.every((e) => bounded.get(e.edge.source)));
  }
  if (config.runtimeMode === 'BATCH') {
    const unbounded = order.find((n) => n.inputs === 0 && !bounded.get(n.id));
    if (unbounded) {
      throw new OptimizerError(
        `BATCH mode needs bounded sources, but source ${describe(unbounded)} is unbounded; run in STREAMING mode or bound the source`,
      );
    }
  }

  const chainable = (e: ResolvedEdge): boolean => {
    const a = nodes.get(e.edge.source)!;
    const b = nodes.get(e.edge.target)!;
    return (
      inputs.get(b.id)!.length === 1 &&
      e.partitioning === 'FORWARD' &&
      parallelism(a) === parallelism(b) &&
      maxParallelism(a) === maxParallelism(b) &&
      group.get(a.id) === group.get(b.id) &&
      b.chaining === 'ALWAYS' &&
      a.chaining !== 'NEVER' &&
      e.edge.sideOutput === undefined
    );
  };

  // Build chains from heads in topological order. A chain is a tree: an
  // operator chains with every chainable consumer (a chained operator has
  // exactly one input, so no two branches meet). Members are listed in
  // depth-first preorder, so an operator comes before everything it feeds.
  const vertexOf = new Map<number, string>();
  const vertices: JobVertex[] = [];
  const chained = new Set<ResolvedEdge>();
  for (const head of order) {
    if (vertexOf.has(head.id)) continue;
    const id = `v${head.id}`;
    const chain: Node[] = [];
    const children = new Map<number, Node[]>();
    const visit = (n: Node): void => {
      chain.push(n);
      vertexOf.set(n.id, id);
      const kids: Node[] = [];
      for (const e of outputs.get(n.id)!) {
        if (!chainable(e)) continue;
        const target = nodes.get(e.edge.target)!;
        chained.add(e);
        kids.push(target);
        visit(target);
      }
      children.set(n.id, kids);
    };
    visit(head);
    // Flink's way of naming a branching chain: `Source -> (Map -> Sink, Filter)`.
    const nameOf = (n: Node): string => {
      const kids = children.get(n.id)!;
      if (kids.length === 0) return n.name;
      if (kids.length === 1) return `${n.name} -> ${nameOf(kids[0]!)}`;
      return `${n.name} -> (${kids.map(nameOf).join(', ')})`;
    };
    vertices.push({
      id,
      name: nameOf(head),
      parallelism: parallelism(head),
      maxParallelism: maxParallelism(head),
      slotSharingGroup: group.get(head.id)!,
      operators: chain.map(chainedOperator),
      isSource: head.inputs === 0,
      bounded: bounded.get(chain[chain.length - 1]!.id)!,
      replayable: head.spec.source === undefined || isReplayableSource(head.spec.source),
    });
  }

  // Exchanges: every edge that is not inside a chain.
  const position = new Map(vertices.map((v, i) => [v.id, i]));
  const exchanges = [...inputs.values()]
    .flat()
    .filter((e) => !chained.has(e))
    .sort(
      (x, y) =>
        position.get(vertexOf.get(x.edge.target)!)! - position.get(vertexOf.get(y.edge.target)!)! ||
        x.edge.target - y.edge.target ||
        x.edge.inputIndex - y.edge.inputIndex ||
        position.get(vertexOf.get(x.edge.source)!)! - position.get(vertexOf.get(y.edge.source)!)! ||
        x.index - y.index,
    );
  const usedIds = new Set<string>();
  const edges: JobEdge[] = exchanges.map(({ edge, partitioning }) => {
    const base = `e${edge.source}-${edge.target}${edge.sideOutput === undefined ? '' : `-${edge.sideOutput}`}`;
    // The same stream can feed one operator twice (union with itself, connect to itself).
    let id = base;
    for (let n = 2; usedIds.has(id); n++) id = `${base}~${n}`;
    usedIds.add(id);
    const out: JobEdge = {
      id,
      source: vertexOf.get(edge.source)!,
      target: vertexOf.get(edge.target)!,
      sourceNodeId: edge.source,
      targetNodeId: edge.target,
      inputIndex: edge.inputIndex,
      partitioning,
    };
    if (edge.sideOutput !== undefined) out.sideOutput = edge.sideOutput;
    if (partitioning === 'CUSTOM' && edge.customPartitioner !== undefined) {
      out.customPartitioner = edge.customPartitioner;
    }
    return out;
  });

  const job: JobGraph = {
    jobName: config.name,
    runtimeMode: config.runtimeMode,
    parallelism: config.parallelism,
    maxParallelism: config.maxParallelism,
    autoWatermarkIntervalMs: config.autoWatermarkIntervalMs,
    bufferTimeoutMs: config.bufferTimeoutMs,
    planHash,
    vertices,
    edges,
  };
  if (config.checkpointing !== undefined) job.checkpointing = { ...config.checkpointing };
  if (config.restartStrategy !== undefined) job.restartStrategy = { ...config.restartStrategy };
  if (config.stateBackend !== undefined) job.stateBackend = config.stateBackend;
  return job;
}

/** Kahn's algorithm; among ready nodes the smallest id goes first, so the order is deterministic. */
function topologicalOrder(
  nodes: Map<number, Node>,
  inputs: Map<number, ResolvedEdge[]>,
  outputs: Map<number, ResolvedEdge[]>,
): Node[] {
  const pending = new Map<number, number>();
  const ready: number[] = [];
  for (const n of nodes.values()) {
    const count = inputs.get(n.id)!.length;
    pending.set(n.id, count);
    if (count === 0) ready.push(n.id);
  }
  const order: Node[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const id = ready.shift()!;
    order.push(nodes.get(id)!);
    for (const e of outputs.get(id)!) {
      const left = pending.get(e.edge.target)! - 1;
      pending.set(e.edge.target, left);
      if (left === 0) ready.push(e.edge.target);
    }
  }
  if (order.length !== nodes.size) {
    const stuck = [...nodes.values()].filter((n) => pending.get(n.id)! > 0).map(describe);
    throw new OptimizerError(
      `The StreamGraph has a cycle through ${stuck.join(', ')}; iterations are not supported`,
    );
  }
  return order;
}
