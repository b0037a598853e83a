/**
 * The StreamGraph: what a program builds in plan mode. It is plain data
 * (JSON-serializable) plus, on each node, the user functions it needs at run
 * time (`fns`, never serialized: the runtime re-creates them by re-running the
 * program's plan, which must therefore be deterministic).
 *
 * Node ids are assigned in creation order, starting at 1, so the same program
 * and arguments always give the same ids.
 */
import type { CheckpointingSpec, RestartStrategySpec } from './checkpointing.js';

/** Every partitioning. */
export const PARTITIONINGS = [
  'FORWARD',
  'REBALANCE',
  'HASH',
  'BROADCAST',
  'RESCALE',
  'SHUFFLE',
  'GLOBAL',
  'CUSTOM',
] as const;

/** How records travel over an edge between two operators. */
export type Partitioning = (typeof PARTITIONINGS)[number];

/** Flink's chaining strategies: `HEAD` = startNewChain(), `NEVER` = disableChaining(). */
export type ChainingStrategy = 'ALWAYS' | 'HEAD' | 'NEVER';

/** Every runtime mode. */
export const RUNTIME_MODES = ['STREAMING', 'BATCH'] as const;

/** STREAMING runs unbounded; BATCH requires bounded sources and ends FINISHED. */
export type RuntimeMode = (typeof RUNTIME_MODES)[number];

/** Every operator kind the runtime knows how to instantiate. */
export type NodeKind =
  | 'source'
  | 'timestamps'
  | 'map'
  | 'flatMap'
  | 'filter'
  | 'process'
  | 'keyedProcess'
  | 'reduce'
  | 'aggregate'
  | 'window'
  | 'coMap'
  | 'coFlatMap'
  | 'coProcess'
  | 'keyedCoProcess'
  | 'broadcastProcess'
  | 'keyedBroadcastProcess'
  | 'windowJoin'
  | 'intervalJoin'
  | 'async'
  | 'sink';

/** Time characteristic of a window assigner. */
export type TimeDomain = 'event' | 'processing';

/** A window assigner as data. Windows are aligned to the epoch (plus `offsetMs`) and half-open `[start, end)`. */
export type WindowAssignerSpec =
  | { type: 'tumbling'; time: TimeDomain; sizeMs: number; offsetMs: number }
  | { type: 'sliding'; time: TimeDomain; sizeMs: number; slideMs: number; offsetMs: number }
  | { type: 'session'; time: TimeDomain; gapMs: number }
  | { type: 'global' };

/** A source as data; user functions (a generator's element function) go in `fns`. */
export type SourceSpec =
  | { type: 'elements'; elements: unknown[] }
  | { type: 'sequence'; from: number; to: number; ratePerSecond?: number }
  | { type: 'generator'; count?: number; ratePerSecond?: number }
  | { type: 'textFile'; path: string }
  | { type: 'socket'; host: string; port: number; delimiter: string }
  | {
      type: 'nexmark';
      /** Number of events; unbounded when absent. */
      events?: number;
      seed: number;
      ratePerSecond?: number;
      /** Extra generator settings (see `@freshet/nexmark`). */
      config?: Record<string, number>;
    }
  /**
   * `env.fromSource(source, ...)`: a source of the split framework; the
   * source object is `fns.source`, its description (plain data) is here.
   */
  | { type: 'connector'; connector: string; description: Record<string, unknown>; bounded: boolean };

/**
 * A sink as data. `jsonLines` and `text` write exactly once into the
 * directory `path` (committed part files); `print` and `collect` are
 * at-least-once.
 */
export type SinkSpec =
  | { type: 'print'; prefix?: string; stderr?: boolean }
  | { type: 'collect'; id: string }
  | { type: 'jsonLines'; path: string }
  | { type: 'text'; path: string }
  | { type: 'discard' }
  /**
   * `sinkTo(connectorSink)`: a sink of the writer/committer framework; the
   * sink object is `fns.sink`, its description (plain data) is here.
   */
  | {
      type: 'connector';
      connector: string;
      description: Record<string, unknown>;
      guarantee: 'none' | 'at-least-once' | 'exactly-once';
    };

/** Watermark generation for `assignTimestampsAndWatermarks`. */
export interface WatermarkSpec {
  /** 0 for monotonous timestamps. */
  outOfOrdernessMs: number;
  /** A channel without records for this long is idle and does not hold back the watermark. */
  idlenessMs?: number;
  /** `WatermarkStrategy.noWatermarks()`: assign timestamps (if an assigner is set) but emit no watermarks. @default false */
  none?: boolean;
  /** `WatermarkStrategy.forGenerator(...)`: a custom generator (`fns.watermarkGenerator`) makes the watermarks. @default false */
  generator?: boolean;
  /** `withWatermarkAlignment(...)`: the source pauses while its watermark runs ahead of its group's slowest. */
  alignment?: WatermarkAlignmentSpec;
}

/**
 * Watermark alignment (Flink's `withWatermarkAlignment`): the sources of a
 * group pause while their watermark is more than `maxDriftMs` ahead of the
 * group's smallest; the group's minimum is exchanged every `updateIntervalMs`.
 */
export interface WatermarkAlignmentSpec {
  group: string;
  maxDriftMs: number;
  updateIntervalMs: number;
}

/** How async I/O retries a request (the predicates, if any, are in `fns.retry`). */
export type AsyncRetrySpec =
  | { type: 'none' }
  | { type: 'fixed-delay'; maxAttempts: number; delayMs: number }
  | {
      type: 'exponential-backoff';
      maxAttempts: number;
      initialDelayMs: number;
      maxDelayMs: number;
      multiplier: number;
    };

/** Settings of an async I/O operator. */
export interface AsyncSpec {
  /** Results in input order (`orderedWait`), or as they complete (`unorderedWait`). */
  ordered: boolean;
  /** A request's time limit, every attempt included. */
  timeoutMs: number;
  /** Requests in flight per subtask. */
  capacity: number;
  retry: AsyncRetrySpec;
}

/** Operator-specific settings, as data. */
export interface NodeSpec {
  source?: SourceSpec;
  sink?: SinkSpec;
  watermarks?: WatermarkSpec;
  window?: {
    assigner: WindowAssignerSpec;
    /** Whether the window operator is keyed (keyBy().window()) or all-window (windowAll()). */
    keyed: boolean;
    /** How elements are kept: incrementally reduced/aggregated, or all buffered for a process function. */
    function: 'reduce' | 'aggregate' | 'process';
    /** Whether a process function follows the incremental reduce/aggregate. */
    withProcess: boolean;
    allowedLatenessMs: number;
    /** Side-output tag id for late records, if set. */
    lateTag?: string;
    /** Whether a custom trigger replaces the assigner's default. */
    customTrigger: boolean;
    /** Whether an evictor (`fns.evictor`) is set: the window then buffers every element. @default false */
    evictor?: boolean;
  };
  async?: AsyncSpec;
  intervalJoin?: { lowerMs: number; upperMs: number; lowerInclusive: boolean; upperInclusive: boolean };
  /** Names of the broadcast state descriptors (broadcastProcess). */
  broadcastStates?: string[];
  /** Field name for the sum/min/max/minBy/maxBy helpers (documentation only; the function does the work). */
  field?: string;
}

/**
 * User functions of a node. Which keys are set depends on the kind:
 * `fn` (map/flatMap/filter/process/co*\/broadcast*\/intervalJoin), `key` and `key2`
 * (key selectors of input 0 and 1 on keyed operators), `reduce`, `aggregate`,
 * `windowProcess` (process window function), `trigger`, `timestampAssigner`,
 * `generator` (element function of a generator source), `join` (window join).
 * On window nodes (and window joins) `trigger` is always set: the custom
 * trigger, or the assigner's default (`spec.window.customTrigger` tells which).
 */
export interface NodeFunctions {
  fn?: unknown;
  key?: (value: never) => string | number;
  key2?: (value: never) => string | number;
  reduce?: unknown;
  aggregate?: unknown;
  windowProcess?: unknown;
  trigger?: unknown;
  timestampAssigner?: (value: never, previousTimestamp: number | undefined) => number;
  generator?: (index: number) => unknown;
  join?: unknown;
  /** A window coGroup's function (window joins with `coGroup` instead of `join`). */
  coGroup?: unknown;
  /** The window's evictor (window nodes with `spec.window.evictor`). */
  evictor?: unknown;
  /** The retry strategy of async I/O, with its predicates. */
  retry?: unknown;
  /** The factory of a custom watermark generator (`spec.watermarks.generator`). */
  watermarkGenerator?: unknown;
  /** Broadcast state descriptors, for broadcast connections. */
  broadcastStates?: unknown[];
  /** The source object of a `connector` source (`env.fromSource`). */
  source?: unknown;
  /** The sink object of a `connector` sink (`sinkTo(connectorSink)`). */
  sink?: unknown;
  /**
   * Custom partitioners of the node's CUSTOM input edges (`partitionCustom`),
   * indexed by the edge's `customPartitioner`.
   */
  partitioners?: CustomPartitionerFns[];
}

/** A `partitionCustom` edge's functions: the key selector and the partitioner that maps a key to a consumer. */
export interface CustomPartitionerFns {
  key: (value: never) => unknown;
  partition: (key: never, numPartitions: number) => number;
}

/** One operator of the StreamGraph. */
export interface StreamNode {
  id: number;
  kind: NodeKind;
  name: string;
  /** Stable id for state matching across savepoints; defaults to a hash of the node's position. */
  uid?: string;
  /** Undefined means the job's default parallelism. */
  parallelism?: number;
  /** Number of key groups. Undefined means the job's maxParallelism. */
  maxParallelism?: number;
  chaining: ChainingStrategy;
  slotSharingGroup: string;
  /** 0 for sources, 1 for one-input operators, 2 for two-input operators. */
  inputs: 0 | 1 | 2;
  /** Whether the operator reads its input(s) keyed (state and timers available). */
  keyed: boolean;
  /** Whether the source is bounded (only sources). */
  bounded?: boolean;
  spec: NodeSpec;
  /** User functions: not serialized, re-created on every plan run. */
  fns: NodeFunctions;
}

/** A connection between two operators. */
export interface StreamEdge {
  source: number;
  target: number;
  /** Which input of a two-input target this edge feeds (0 or 1). */
  inputIndex: 0 | 1;
  /**
   * Requested partitioning. `undefined` means "not specified": the optimizer
   * uses FORWARD when parallelisms match, REBALANCE otherwise (Flink's rule).
   */
  partitioning?: Partitioning;
  /** Set when the edge carries a side output of the source node instead of its main output. */
  sideOutput?: string;
  /** CUSTOM edges: index of the edge's functions in the target node's `fns.partitioners`. */
  customPartitioner?: number;
}

/** Job-wide settings. */
export interface JobConfig {
  name: string;
  parallelism: number;
  /** Number of key groups. @default 128 */
  maxParallelism: number;
  runtimeMode: RuntimeMode;
  /** How often watermarks are emitted by `assignTimestampsAndWatermarks`. @default 200 */
  autoWatermarkIntervalMs: number;
  /** Flush an output buffer after this long even if not full. @default 10 */
  bufferTimeoutMs: number;
  /** Periodic checkpoints; absent when checkpointing is disabled (the default). */
  checkpointing?: CheckpointingSpec;
  /** The restart strategy the program set; absent = the default (see `effectiveRestartStrategy`). */
  restartStrategy?: RestartStrategySpec;
  /** Where keyed state lives; absent = `'heap'`. */
  stateBackend?: StateBackendKind;
}

/**
 * Where a job's keyed state (user state, window contents, rolling
 * aggregates) lives: `'heap'` in the task's memory, `'disk'` in an
 * embedded on-disk store per subtask (state larger than memory).
 */
export type StateBackendKind = (typeof STATE_BACKENDS)[number];

/** The state backends a job can select (`env.setStateBackend`, `--state-backend`). */
export const STATE_BACKENDS = ['heap', 'disk'] as const;

/** The whole StreamGraph a program built. */
export interface StreamGraph {
  config: JobConfig;
  nodes: StreamNode[];
  edges: StreamEdge[];
}

/** StreamGraph without functions, as sent over the wire and printed by `freshet plan --json`. */
export type StreamGraphJson = {
  config: JobConfig;
  nodes: Omit<StreamNode, 'fns'>[];
  edges: StreamEdge[];
};

/** Drops the user functions so the graph can be serialized. */
export function streamGraphToJson(graph: StreamGraph): StreamGraphJson {
  return {
    config: graph.config,
    nodes: graph.nodes.map(({ fns: _fns, ...node }) => node),
    edges: graph.edges,
  };
}
