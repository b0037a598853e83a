/**
 * The graph under construction, owned by one StreamExecutionEnvironment.
 * Streams and operators are thin handles on it: a DataStream is a list of
 * producers (node outputs), so `union` and partitioning methods create no
 * node, and `keyBy` only decides how the next operator's input edges look.
 */
import { checkNonEmptyString, checkPositiveInt } from './check.js';
import { captureCallSite, ProgramDefinitionError, type CallSite } from './errors.js';
import type { OutputTag } from './functions.js';
import type {
  ChainingStrategy,
  CustomPartitionerFns,
  NodeFunctions,
  NodeKind,
  NodeSpec,
  Partitioning,
  StreamEdge,
  StreamGraph,
  StreamNode,
} from '@freshet/graph';

/** Upper bound of maxParallelism (number of key groups), as in Flink. */
export const MAX_MAX_PARALLELISM = 32768;

/** One output feeding a stream: a node's main output or one of its side outputs, with a requested partitioning. */
export interface Producer {
  readonly nodeId: number;
  readonly sideOutput?: string;
  readonly partitioning?: Partitioning;
  /** CUSTOM: the key selector and partitioner of `partitionCustom`. */
  readonly customPartitioner?: CustomPartitionerFns;
}

/** What an operator method passes to create a node. */
export interface NodeInit {
  kind: NodeKind;
  name: string;
  inputs: 0 | 1 | 2;
  keyed: boolean;
  spec?: NodeSpec;
  fns?: NodeFunctions;
  /** Fixed parallelism of a non-parallel operator (sources of one reader, all-windows). */
  nonParallel?: boolean;
  bounded?: boolean;
  chaining?: ChainingStrategy;
}

/** Plan-time facts about a node that are not part of the StreamGraph. */
interface NodeMeta {
  readonly callSite: CallSite;
  readonly nonParallel: boolean;
  /** Set by `slotSharingGroup()`; otherwise the group is inherited from the inputs. */
  explicitSlotSharingGroup: string | undefined;
}

/** Connects the producers of an input to a node. */
export interface InputSpec {
  producers: readonly Producer[];
  /** HASH for keyed inputs; otherwise each producer's own partitioning applies. */
  partitioning?: Partitioning;
}

/** The StreamGraph being built. */
export class GraphBuilder {
  readonly #nodes: StreamNode[] = [];
  readonly #edges: StreamEdge[] = [];
  readonly #meta = new Map<number, NodeMeta>();
  readonly #tags = new Map<string, { tag: OutputTag<unknown>; nodeName: string }>();
  #sealed = false;

  /** Appends a node (id = creation order) and the edges of its inputs. */
  addNode(init: NodeInit, inputs: readonly InputSpec[] = []): StreamNode {
    this.#checkOpen();
    const id = this.#nodes.length + 1;
    const node: StreamNode = {
      id,
      kind: init.kind,
      name: init.name,
      chaining: init.chaining ?? 'ALWAYS',
      slotSharingGroup: 'default',
      inputs: init.inputs,
      keyed: init.keyed,
      spec: init.spec ?? {},
      fns: init.fns ?? {},
    };
    if (init.nonParallel) node.parallelism = 1;
    if (init.bounded !== undefined) node.bounded = init.bounded;
    this.#nodes.push(node);
    this.#meta.set(id, {
      callSite: captureCallSite(),
      nonParallel: init.nonParallel ?? false,
      explicitSlotSharingGroup: undefined,
    });
    inputs.forEach((input, index) => {
      for (const producer of input.producers) {
        const edge: StreamEdge = { source: producer.nodeId, target: id, inputIndex: index === 0 ? 0 : 1 };
        const partitioning = input.partitioning ?? producer.partitioning;
        if (partitioning !== undefined) edge.partitioning = partitioning;
        if (producer.sideOutput !== undefined) edge.sideOutput = producer.sideOutput;
        if (partitioning === 'CUSTOM' && producer.customPartitioner) {
          // Functions stay on nodes (edges are plain data): the edge names its slot in the target's list.
          const partitioners = (node.fns.partitioners ??= []);
          edge.customPartitioner = partitioners.push(producer.customPartitioner) - 1;
        }
        this.#edges.push(edge);
      }
    });
    return node;
  }

  /** The node with this id. */
  node(id: number): StreamNode {
    const node = this.#nodes[id - 1];
    if (!node) throw new RangeError(`No node ${id}`);
    return node;
  }

  /** Where the program created node `id`. */
  callSite(id: number): CallSite | undefined {
    return this.#meta.get(id)?.callSite;
  }

  /**
   * Registers a side-output tag used by the program. Tag ids name side
   * outputs on the wire, so two different OutputTag objects with one id would
   * mix two streams: that is an error (reuse the same OutputTag object).
   */
  registerTag(tag: OutputTag<unknown>, nodeName: string): void {
    this.#checkOpen();
    const seen = this.#tags.get(tag.id);
    if (seen === undefined) {
      this.#tags.set(tag.id, { tag, nodeName });
    } else if (seen.tag !== tag) {
      throw new ProgramDefinitionError(
        `Two different OutputTags have the id '${tag.id}' (used on '${seen.nodeName}' and on '${nodeName}'): ` +
          'a side output id must mean one thing within a job; create the OutputTag once and reuse that object, or give each its own id',
      );
    }
  }

  /** Sets a node's name. */
  setName(id: number, name: string): void {
    this.#checkOpen();
    this.node(id).name = checkNonEmptyString('name', name);
  }

  /** Sets a node's uid. */
  setUid(id: number, uid: string): void {
    this.#checkOpen();
    this.node(id).uid = checkNonEmptyString('uid', uid);
  }

  /** Sets a node's parallelism (refused above 1 on non-parallel operators). */
  setParallelism(id: number, parallelism: number): void {
    this.#checkOpen();
    checkPositiveInt('setParallelism', parallelism);
    const node = this.node(id);
    if (this.#meta.get(id)?.nonParallel && parallelism !== 1) {
      throw new ProgramDefinitionError(
        `'${node.name}' is not a parallel operator: setParallelism expects 1 here (got ${parallelism})`,
      );
    }
    node.parallelism = parallelism;
  }

  /** Sets a node's number of key groups. */
  setMaxParallelism(id: number, maxParallelism: number): void {
    this.#checkOpen();
    checkMaxParallelism('setMaxParallelism', maxParallelism);
    this.node(id).maxParallelism = maxParallelism;
  }

  /** Sets a node's chaining strategy. */
  setChaining(id: number, chaining: ChainingStrategy): void {
    this.#checkOpen();
    this.node(id).chaining = chaining;
  }

  /** Puts a node in a slot-sharing group (its consumers inherit it unless they set their own). */
  setSlotSharingGroup(id: number, group: string): void {
    this.#checkOpen();
    checkNonEmptyString('slotSharingGroup', group);
    const meta = this.#meta.get(id);
    if (meta) meta.explicitSlotSharingGroup = group;
    this.node(id).slotSharingGroup = group;
  }

  /** Refuses any further change: the plan is complete. */
  seal(): void {
    this.#sealed = true;
  }

  /**
   * A snapshot of the graph: nodes are copies (the builder keeps its own),
   * slot-sharing groups resolved Flink's way: an operator without an explicit
   * group takes its inputs' group if they all agree, else `default`.
   */
  snapshot(config: StreamGraph['config']): StreamGraph {
    const nodes = this.#nodes.map((node) => ({ ...node }));
    for (const node of nodes) {
      const explicit = this.#meta.get(node.id)?.explicitSlotSharingGroup;
      if (explicit !== undefined) continue;
      const groups = new Set(
        this.#edges.filter((e) => e.target === node.id).map((e) => nodes[e.source - 1]!.slotSharingGroup),
      );
      node.slotSharingGroup = groups.size === 1 ? [...groups][0]! : 'default';
    }
    return { config: { ...config }, nodes, edges: this.#edges.map((edge) => ({ ...edge })) };
  }

  #checkOpen(): void {
    if (this.#sealed) {
      throw new ProgramDefinitionError(
        'The program changed its pipeline after it returned: build the whole pipeline before the program function returns (await any asynchronous work first)',
      );
    }
  }
}

/** Throws unless `value` is a valid number of key groups. */
export function checkMaxParallelism(what: string, value: unknown): number {
  checkPositiveInt(what, value);
  if ((value as number) > MAX_MAX_PARALLELISM) {
    throw new ProgramDefinitionError(
      `${what} expects at most ${MAX_MAX_PARALLELISM} (got ${value as number})`,
    );
  }
  return value as number;
}
