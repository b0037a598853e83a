/**
 * The StreamExecutionEnvironment: job settings and sources. A program gets
 * one from the host (`export default (env, args) => { ... }`); every source
 * and operator it creates becomes a node of the environment's StreamGraph.
 */
import { GraphBuilder, checkMaxParallelism, type NodeInit } from './builder.js';
import {
  checkFunction,
  checkNonEmptyString,
  checkNonNegativeInt,
  checkPositiveInt,
  describeValue,
} from './check.js';
import { SingleOutputStreamOperator } from './datastream.js';
import {
  CheckpointConfig,
  RestartStrategyConfiguration,
  checkCheckpointingMode,
  type CheckpointingMode,
} from './checkpointing.js';
import { ProgramDefinitionError } from './errors.js';
import type { Millis } from './functions.js';
import {
  overrideCheckpointing,
  type JobConfig,
  type PlanOverrides,
  type RestartStrategySpec,
  type RuntimeMode,
  type SourceSpec,
  type StateBackendKind,
  type StreamGraph,
} from '@freshet/graph';
import type { NexmarkEvent } from './nexmark.js';
import { validateStreamGraph } from './validate.js';
import type { Source, SourceSplit } from './connector/source.js';
import { checkConnectorDescription } from './connector/check.js';
import type { WatermarkStrategy } from './watermarks.js';

/**
 * Settings that win over what the program sets on its environment (e.g. the
 * CLI's `--parallelism` or `--checkpoint-interval`): the plan overrides, and
 * the job name.
 */
export interface EnvironmentOverrides extends PlanOverrides {
  /** Replaces the job name. */
  jobName?: string;
}

/** Options of rate-limited sources. */
export interface RateOptions {
  /** Records per second over the whole source (all parallel instances); unlimited when absent. */
  ratePerSecond?: number;
}

/** Options of {@link StreamExecutionEnvironment.fromGenerator}. */
export interface GeneratorOptions extends RateOptions {
  /** Number of elements (indexes 0..count-1); the source is unbounded when absent. */
  count?: number;
}

/** Options of {@link StreamExecutionEnvironment.nexmark}. */
export interface NexmarkSourceOptions extends RateOptions {
  /** Number of events; the source is unbounded when absent. */
  events?: number;
  /** Seed of the deterministic generator: equal seeds give equal events. */
  seed: number;
  /** Extra generator settings (see `@freshet/nexmark`). */
  config?: Record<string, number>;
}

/** Job-wide settings reached through `env.getConfig()`. */
export class ExecutionConfig {
  #autoWatermarkIntervalMs = 200;

  /**
   * How often `assignTimestampsAndWatermarks` operators emit a watermark.
   * @default 200
   */
  setAutoWatermarkInterval(ms: Millis): this {
    this.#autoWatermarkIntervalMs = checkNonNegativeInt('setAutoWatermarkInterval', ms);
    return this;
  }

  /** The watermark interval in milliseconds. */
  getAutoWatermarkInterval(): Millis {
    return this.#autoWatermarkIntervalMs;
  }
}

/** The context a program builds its pipeline in. */
export class StreamExecutionEnvironment {
  /** The graph under construction (internal to the API). */
  readonly builder = new GraphBuilder();
  readonly #config = new ExecutionConfig();
  readonly #checkpointConfig = new CheckpointConfig();
  #restartStrategy: RestartStrategyConfiguration | undefined;
  readonly #overrides: Readonly<EnvironmentOverrides>;
  #parallelism = 1;
  #maxParallelism = 128;
  #runtimeMode: RuntimeMode = 'STREAMING';
  #stateBackend: StateBackendKind = 'heap';
  #bufferTimeoutMs = 10;
  #jobName = 'Freshet Job';

  /** @param overrides settings that take precedence over the program's own */
  constructor(overrides: EnvironmentOverrides = {}) {
    if (overrides.parallelism !== undefined)
      checkPositiveInt('The parallelism override', overrides.parallelism);
    if (overrides.maxParallelism !== undefined)
      checkMaxParallelism('The maxParallelism override', overrides.maxParallelism);
    if (overrides.runtimeMode !== undefined)
      checkRuntimeMode('The runtimeMode override', overrides.runtimeMode);
    if (overrides.stateBackend !== undefined)
      checkStateBackend('The stateBackend override', overrides.stateBackend);
    if (overrides.jobName !== undefined) checkNonEmptyString('The jobName override', overrides.jobName);
    if (overrides.checkpointing?.intervalMs !== undefined) {
      checkNonNegativeInt('The checkpoint interval override', overrides.checkpointing.intervalMs);
    }
    if (overrides.checkpointing?.mode !== undefined) {
      checkCheckpointingMode('The checkpointing mode override', overrides.checkpointing.mode);
    }
    this.#overrides = { ...overrides };
  }

  // ------------------------------------------------------------ settings

  /**
   * Default number of parallel instances of every operator.
   * @default 1
   */
  setParallelism(parallelism: number): this {
    this.#parallelism = checkPositiveInt('setParallelism', parallelism);
    return this;
  }
  /** The default parallelism (an override, if given, wins). */
  getParallelism(): number {
    return this.#overrides.parallelism ?? this.#parallelism;
  }

  /**
   * Number of key groups: the upper bound of a keyed operator's parallelism
   * and the unit in which keyed state is redistributed on rescaling.
   * @default 128
   */
  setMaxParallelism(maxParallelism: number): this {
    this.#maxParallelism = checkMaxParallelism('setMaxParallelism', maxParallelism);
    return this;
  }
  /** The number of key groups (an override, if given, wins). */
  getMaxParallelism(): number {
    return this.#overrides.maxParallelism ?? this.#maxParallelism;
  }

  /**
   * STREAMING runs unbounded; BATCH needs bounded sources and ends FINISHED.
   * @default 'STREAMING'
   */
  setRuntimeMode(mode: RuntimeMode): this {
    this.#runtimeMode = checkRuntimeMode('setRuntimeMode', mode);
    return this;
  }
  /** The runtime mode (an override, if given, wins). */
  getRuntimeMode(): RuntimeMode {
    return this.#overrides.runtimeMode ?? this.#runtimeMode;
  }

  /**
   * Where keyed state lives: `'heap'` keeps it in the task's memory (the
   * fastest); `'disk'` keeps user state, window contents and rolling
   * aggregates in an embedded on-disk store per subtask (LMDB) with a small
   * cache in memory, so a job's state may be much larger than its memory.
   * Checkpoints of either backend restore into the other.
   * @default 'heap'
   */
  setStateBackend(backend: StateBackendKind): this {
    this.#stateBackend = checkStateBackend('setStateBackend', backend);
    return this;
  }
  /** The state backend (an override, if given, wins). */
  getStateBackend(): StateBackendKind {
    return this.#overrides.stateBackend ?? this.#stateBackend;
  }

  /**
   * Longest time a partly filled output buffer waits before it is sent.
   * @default 10
   */
  setBufferTimeout(ms: Millis): this {
    this.#bufferTimeoutMs = checkNonNegativeInt('setBufferTimeout', ms);
    return this;
  }
  /** The buffer timeout in milliseconds. */
  getBufferTimeout(): Millis {
    return this.#bufferTimeoutMs;
  }

  /**
   * Name of the job, shown in the dashboard.
   * @default 'Freshet Job'
   */
  setJobName(name: string): this {
    this.#jobName = checkNonEmptyString('setJobName', name);
    return this;
  }
  /** The job name (an override, if given, wins). */
  getJobName(): string {
    return this.#overrides.jobName ?? this.#jobName;
  }

  /** Further job-wide settings (watermark interval). */
  getConfig(): ExecutionConfig {
    return this.#config;
  }

  /**
   * Takes a checkpoint of the whole job every `intervalMs` milliseconds:
   * aligned barriers through the dataflow, every operator's state and every
   * source's position, so a failed job restarts from its latest checkpoint
   * with exactly-once state (and exactly-once output through
   * `writeAsJsonLines`/`writeAsText`). Further settings:
   * {@link getCheckpointConfig}. Jobs without it checkpoint only once, at the
   * end of bounded input.
   *
   * @param mode @default 'EXACTLY_ONCE'
   */
  enableCheckpointing(intervalMs: Millis, mode: CheckpointingMode = 'EXACTLY_ONCE'): this {
    this.#checkpointConfig.setCheckpointInterval(intervalMs);
    this.#checkpointConfig.setCheckpointingMode(checkCheckpointingMode('enableCheckpointing', mode));
    return this;
  }

  /** The checkpoint settings (timeout, minimum pause, tolerable failures, retained checkpoints). */
  getCheckpointConfig(): CheckpointConfig {
    return this.#checkpointConfig;
  }

  /**
   * How the job restarts after a failure: `RestartStrategies.noRestart()`,
   * `fixedDelay(attempts, delayMs)`, `exponentialDelay({...})` or
   * `failureRate(maxFailures, intervalMs, delayMs)`. Without it a job with
   * checkpointing restarts with exponential delay and a job without does not
   * restart.
   */
  setRestartStrategy(strategy: RestartStrategyConfiguration): this {
    if (!RestartStrategyConfiguration.is(strategy)) {
      throw new ProgramDefinitionError(
        `setRestartStrategy expects a strategy made by RestartStrategies, e.g. RestartStrategies.fixedDelay(3, 1000) (got ${describeValue(strategy)})`,
      );
    }
    this.#restartStrategy = strategy;
    return this;
  }

  /** The restart strategy the job runs with, as plan data (an override, if given, wins); undefined = the default. */
  getRestartStrategy(): RestartStrategySpec | undefined {
    const own = this.#restartStrategy?.spec;
    return this.#overrides.restartStrategy ?? (own === undefined ? undefined : { ...own });
  }

  /**
   * Kept for Flink familiarity: in Freshet the host runs the job once the
   * program function returns, so this only names the job (if given).
   */
  execute(jobName?: string): Promise<void> {
    if (jobName !== undefined) this.setJobName(jobName);
    return Promise.resolve();
  }

  // ------------------------------------------------------------ sources

  /** A bounded stream of the given elements (plain JSON-like data: they are part of the plan). */
  fromElements<T>(...elements: T[]): SingleOutputStreamOperator<T> {
    if (elements.length === 0) {
      throw new ProgramDefinitionError(
        'fromElements expects at least one element; use fromCollection([]) for an empty stream',
      );
    }
    return this.#elements('fromElements', elements);
  }

  /** A bounded stream of the collection's elements (plain JSON-like data: they are part of the plan). */
  fromCollection<T>(collection: Iterable<T>): SingleOutputStreamOperator<T> {
    if (
      collection === null ||
      typeof (collection as Partial<Iterable<T>> | undefined)?.[Symbol.iterator] !== 'function'
    ) {
      throw new ProgramDefinitionError(
        `fromCollection expects an array or another iterable (got ${describeValue(collection)})`,
      );
    }
    return this.#elements('fromCollection', Array.from(collection));
  }

  #elements<T>(what: string, elements: T[]): SingleOutputStreamOperator<T> {
    try {
      JSON.stringify(elements);
    } catch (error) {
      throw new ProgramDefinitionError(
        `${what} expects plain data that can be written as JSON (${error instanceof Error ? error.message : String(error)}); ` +
          'build other values in a map() after the source',
      );
    }
    return this.#source<T>({ type: 'elements', elements }, 'Source: Collection', true, { nonParallel: true });
  }

  /** The integers `from..to` (inclusive), bounded; parallel instances split the range. */
  fromSequence(from: number, to: number, options: RateOptions = {}): SingleOutputStreamOperator<number> {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to) {
      throw new ProgramDefinitionError(
        `fromSequence expects integers from <= to (got ${describeValue(from)}, ${describeValue(to)})`,
      );
    }
    const spec: SourceSpec = { type: 'sequence', from, to, ...rate('fromSequence', options) };
    return this.#source<number>(spec, 'Source: Sequence', true);
  }

  /**
   * A stream of `generator(index)` for index 0, 1, 2...; parallel instances
   * split the indexes. `generator` must be pure: it runs again on every
   * restart and every parallel instance.
   */
  fromGenerator<T>(
    generator: (index: number) => T,
    options: GeneratorOptions = {},
  ): SingleOutputStreamOperator<T> {
    checkFunction('fromGenerator', generator, 'a function (index) => element');
    const spec: SourceSpec = { type: 'generator', ...rate('fromGenerator', options) };
    if (options.count !== undefined) spec.count = checkNonNegativeInt('fromGenerator count', options.count);
    return this.#source<T>(spec, 'Source: Generator', options.count !== undefined, { fns: { generator } });
  }

  /** The lines of a text file (bounded). */
  readTextFile(path: string): SingleOutputStreamOperator<string> {
    checkNonEmptyString('readTextFile', path);
    return this.#source<string>({ type: 'textFile', path }, 'Source: Text File', true, { nonParallel: true });
  }

  /**
   * Text read from a TCP socket, split at `delimiter` (unbounded).
   * @param delimiter @default '\n'
   */
  socketTextStream(host: string, port: number, delimiter = '\n'): SingleOutputStreamOperator<string> {
    checkNonEmptyString('socketTextStream host', host);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ProgramDefinitionError(
        `socketTextStream expects a port between 1 and 65535 (got ${describeValue(port)})`,
      );
    }
    checkNonEmptyString('socketTextStream delimiter', delimiter);
    return this.#source<string>({ type: 'socket', host, port, delimiter }, 'Source: Socket', false, {
      nonParallel: true,
    });
  }

  /** The Nexmark benchmark's events (persons, auctions, bids), deterministic for a seed. */
  nexmark(options: NexmarkSourceOptions): SingleOutputStreamOperator<NexmarkEvent> {
    if (typeof options !== 'object' || options === null) {
      throw new ProgramDefinitionError(
        `nexmark expects options { seed, events?, ratePerSecond? } (got ${describeValue(options)})`,
      );
    }
    if (!Number.isSafeInteger(options.seed)) {
      throw new ProgramDefinitionError(
        `nexmark expects an integer seed (got ${describeValue(options.seed)})`,
      );
    }
    const spec: SourceSpec = { type: 'nexmark', seed: options.seed, ...rate('nexmark', options) };
    if (options.events !== undefined) spec.events = checkNonNegativeInt('nexmark events', options.events);
    if (options.config !== undefined) spec.config = { ...options.config };
    return this.#source<NexmarkEvent>(spec, 'Source: Nexmark', options.events !== undefined);
  }

  /**
   * A stream read from a source of the split framework (Flink's
   * `env.fromSource`): `FileSource`, `KafkaSource`, a `PostgresSource` from
   * `@freshet/connectors`, or your own {@link Source}. The watermark
   * strategy runs per split inside the source (the source's watermark is
   * the minimum over its active splits, idle splits excluded); use
   * `WatermarkStrategy.noWatermarks()` for none. Split assignment and read
   * positions are part of every checkpoint: a restored job resumes every
   * split exactly where the checkpoint was.
   */
  fromSource<T, Split extends SourceSplit = SourceSplit, EnumState = unknown>(
    source: Source<T, Split, EnumState>,
    watermarkStrategy: WatermarkStrategy<T>,
    name: string,
  ): SingleOutputStreamOperator<T> {
    const s = source as Partial<Source<T, Split, EnumState>> | null;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.createReader !== 'function' ||
      typeof s.createEnumerator !== 'function' ||
      (s.boundedness !== 'BOUNDED' && s.boundedness !== 'CONTINUOUS_UNBOUNDED')
    ) {
      throw new ProgramDefinitionError(
        `fromSource expects a Source (createEnumerator, createReader, boundedness), such as FileSource or KafkaSource from @freshet/connectors (got ${describeValue(source)})`,
      );
    }
    const w = watermarkStrategy as Partial<WatermarkStrategy<T>> | null;
    if (typeof w !== 'object' || w === null || typeof w.spec !== 'object') {
      throw new ProgramDefinitionError(
        `fromSource expects a WatermarkStrategy as its second argument, e.g. WatermarkStrategy.noWatermarks() (got ${describeValue(watermarkStrategy)})`,
      );
    }
    checkNonEmptyString('fromSource name', name);
    const description = checkConnectorDescription('fromSource', s.description);
    const bounded = s.boundedness === 'BOUNDED';
    const spec: SourceSpec = { type: 'connector', connector: description.connector, description, bounded };
    const node = this.builder.addNode({
      kind: 'source',
      name,
      inputs: 0,
      keyed: false,
      spec: { source: spec, watermarks: { ...w.spec } },
      fns: w.timestampAssigner ? { source, timestampAssigner: w.timestampAssigner } : { source },
      bounded,
      chaining: 'HEAD',
    });
    return new SingleOutputStreamOperator<T>(this, [{ nodeId: node.id }], node.id);
  }

  #source<T>(
    source: SourceSpec,
    name: string,
    bounded: boolean,
    extra: Pick<NodeInit, 'fns' | 'nonParallel'> = {},
  ): SingleOutputStreamOperator<T> {
    const node = this.builder.addNode({
      kind: 'source',
      name,
      inputs: 0,
      keyed: false,
      spec: { source },
      bounded,
      chaining: 'HEAD',
      ...extra,
    });
    return new SingleOutputStreamOperator<T>(this, [{ nodeId: node.id }], node.id);
  }

  // ------------------------------------------------------------ the plan

  /** The job's settings as they stand (overrides applied). */
  getJobConfig(): JobConfig {
    const config: JobConfig = {
      name: this.getJobName(),
      parallelism: this.getParallelism(),
      maxParallelism: this.getMaxParallelism(),
      runtimeMode: this.getRuntimeMode(),
      autoWatermarkIntervalMs: this.#config.getAutoWatermarkInterval(),
      bufferTimeoutMs: this.#bufferTimeoutMs,
    };
    const checkpointing = overrideCheckpointing(
      this.#checkpointConfig.toSpec(),
      this.#overrides.checkpointing,
    );
    if (checkpointing !== undefined) config.checkpointing = checkpointing;
    const restartStrategy = this.getRestartStrategy();
    if (restartStrategy !== undefined) config.restartStrategy = restartStrategy;
    // Absent for the default, so heap jobs plan (and hash) exactly as before.
    const stateBackend = this.getStateBackend();
    if (stateBackend !== 'heap') config.stateBackend = stateBackend;
    return config;
  }

  /** The validated StreamGraph built so far (a copy). Throws a ProgramDefinitionError if it cannot run. */
  getStreamGraph(): StreamGraph {
    const graph = this.builder.snapshot(this.getJobConfig());
    validateStreamGraph(graph, (id) => this.builder.callSite(id));
    return graph;
  }
}

function checkRuntimeMode(what: string, mode: unknown): RuntimeMode {
  if (mode !== 'STREAMING' && mode !== 'BATCH') {
    throw new ProgramDefinitionError(`${what} expects 'STREAMING' or 'BATCH' (got ${describeValue(mode)})`);
  }
  return mode;
}

function checkStateBackend(what: string, backend: unknown): StateBackendKind {
  if (backend !== 'heap' && backend !== 'disk') {
    throw new ProgramDefinitionError(`${what} expects 'heap' or 'disk' (got ${describeValue(backend)})`);
  }
  return backend;
}

function rate(what: string, options: RateOptions): { ratePerSecond?: number } {
  const r = options.ratePerSecond;
  if (r === undefined) return {};
  if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) {
    throw new ProgramDefinitionError(`${what} expects ratePerSecond > 0 (got ${describeValue(r)})`);
  }
  return { ratePerSecond: r };
}
