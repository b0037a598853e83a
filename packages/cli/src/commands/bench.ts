/**
 * `freshet bench`: runs the Nexmark queries on the local mini-cluster over the
 * built-in generator source, at several parallelisms, next to a hand-written
 * baseline of each query (plain loops over the same generator), and reports
 * events per second and per CPU-second.
 *
 * CPU time is `process.cpuUsage()` (user + system of the whole process, worker
 * threads included) plus the CPU of waited-for child processes
 * (`/proc/self/stat` cutime + cstime), measured around the run only:
 * compiling and planning are not counted.
 *
 * Generator rows: the generator alone into a discard sink, no engine (a plain
 * loop in this thread), at each benchmarked parallelism, so each query row
 * can show the engine's CPU per event beyond generating it.
 *
 * Cluster rows (`--cluster`, the default): every query on a JobManager and two
 * TaskManager processes with one slot each, at parallelism 2, next to the
 * local mini-cluster at parallelism 2 of the same run (see `bench-cluster.ts`).
 *
 * Checkpoint rows (`--checkpoint-queries`, default q5 and q8): the query at
 * parallelism 2 with a checkpoint every `--checkpoint-interval` ms (1000),
 * next to the same query without checkpoints in the same run: throughput
 * ratio, checkpoint duration p50/p99, snapshot size.
 *
 * State backend rows (`--state-backend-queries`, default q5 and q8): the
 * query at parallelism 1 on the disk state backend next to the heap, and
 * the heap bytes per key of keyed state on each backend (`bench-state.ts`).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import {
  BASELINE_QUERIES,
  createBaseline,
  eventTime,
  NexmarkGenerator,
  type BaselineQueryName,
  type NexmarkEvent,
} from '@freshet/nexmark';
import type { SubtaskMetrics } from '@freshet/runtime';
import { CliError, formatTable, printJson } from '../output.js';
import {
  CLUSTER_HEADERS,
  clusterRows,
  round,
  runClusterQuery,
  startBenchCluster,
  type BenchCluster,
  type ClusterBenchResult,
} from './bench-cluster.js';
import {
  FLINK_HEADERS,
  FLINK_NOTE,
  flinkPeerRows,
  flinkRows,
  type FlinkPeerResult,
  type FlinkPeerSource,
} from './bench-flink.js';
import { executeNexmarkQuery, findNexmarkExamplesDir, prepareNexmarkQuery } from './nexmark.js';
import {
  measureStartup,
  STARTUP_HEADERS,
  STARTUP_NOTE,
  startupRows,
  steadyKey,
  steadyRates,
  type StartupBenchResult,
} from './bench-startup.js';
import {
  DEFAULT_STATE_BACKEND_QUERIES,
  measureStateMemory,
  measureCheckpointBytes,
  checkpointBytesRows,
  CHECKPOINT_BYTES_CHANGED,
  CHECKPOINT_BYTES_HEADERS,
  CHECKPOINT_BYTES_KEYS,
  CHECKPOINT_BYTES_KEY_GROUPS,
  type CheckpointBytesBenchResult,
  MEMORY_PER_KEY_KEYS,
  STATE_BACKEND_HEADERS,
  STATE_BACKEND_NOTE,
  STATE_BACKEND_PARALLELISM,
  STATE_MEMORY_HEADERS,
  stateBackendRows,
  stateMemoryRows,
  type StateBackendBenchResult,
  type StateMemoryBenchResult,
} from './bench-state.js';

export type { ClusterBenchResult } from './bench-cluster.js';
export type { StartupBenchResult } from './bench-startup.js';

/** What every local row measures: one run over `events` events. */
export interface RunMeasures {
  parallelism: number;
  events: number;
  /** Wall-clock seconds of the run. */
  seconds: number;
  /** User + system CPU seconds of the run (all threads, child processes included). */
  cpuSeconds: number;
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
}

/**
 * A row measured `runs` times (`--repeat`), runs of different rows
 * interleaved: its figures are the median run's (by events per CPU-second; of an even
 * count, the faster middle run), the range shows how far the runs spread.
 */
export interface RepeatedMeasures {
  runs: number;
  /** The slowest and the fastest run's events per CPU-second. */
  eventsPerCpuSecondMin: number;
  eventsPerCpuSecondMax: number;
}

/** One local (single-process mini-cluster) row of the benchmark's results. */
export interface BenchResult extends RunMeasures, RepeatedMeasures {
  mode: 'local';
  query: string;
  /** The hand-written baseline's events per CPU-second (single thread). */
  baselineEventsPerCpuSecond: number;
  /** eventsPerCpuSecond / baselineEventsPerCpuSecond. */
  ratioToBaseline: number;
  /**
   * CPU nanoseconds per event beyond generating it: 10^9 / eventsPerCpuSecond
   * − 10^9 / the generator row's eventsPerCpuSecond at the same parallelism.
   */
  engineOverheadNsPerEvent: number;
  /** Records the discard sink received (compared with the Flink peer's). */
  outputs: number;
}

/** A local run with periodic checkpoints next to the same run without. */
export interface CheckpointBenchResult {
  mode: 'checkpoints';
  query: string;
  parallelism: number;
  events: number;
  /** Checkpoint interval. */
  intervalMs: number;
  /** Wall-clock seconds of the run. */
  seconds: number;
  eventsPerSecond: number;
  /** The same query and parallelism without checkpoints, in the same bench run. */
  baseEventsPerSecond: number;
  /** eventsPerSecond / baseEventsPerSecond (target: >= 0.9). */
  throughputRatio: number;
  /** User + system CPU seconds of the run (all threads). */
  cpuSeconds: number;
  eventsPerCpuSecond: number;
  /** The same query and parallelism without checkpoints, per CPU-second. */
  baseEventsPerCpuSecond: number;
  /** eventsPerCpuSecond / baseEventsPerCpuSecond: the checkpoints' cost in CPU, less sensitive to a busy machine than wall time. */
  cpuRatio: number;
  /** Periodic checkpoints completed (the final one at the end of input not counted). */
  checkpoints: number;
  /** Trigger to completion, over the periodic checkpoints. */
  durationP50Ms: number;
  durationP99Ms: number;
  /** Size of a checkpoint (every subtask's snapshot), median and largest. */
  bytesP50: number;
  bytesMax: number;
  /** Longest barrier alignment, 99th percentile. */
  alignmentP99Ms: number;
}

/**
 * A generator-only row: the Nexmark generator into a discard sink, no engine.
 * At parallelism p the p subtask shares are generated one after the other in
 * the bench's own thread, so events/s is one thread's rate at every p.
 */
export interface GeneratorBenchResult extends RunMeasures, RepeatedMeasures {
  mode: 'generator';
  query: 'generator';
}

/** A row of any kind. */
export type BenchRow =
  | BenchResult
  | GeneratorBenchResult
  | ClusterBenchResult
  | CheckpointBenchResult
  | FlinkPeerResult
  | StateBackendBenchResult
  | StateMemoryBenchResult
  | CheckpointBytesBenchResult
  | StartupBenchResult;

/** The queries benchmarked by default. */
export const DEFAULT_BENCH_QUERIES = ['q0', 'q1', 'q2', 'q3', 'q5', 'q7', 'q8'];

/** The queries also run on a cluster of TaskManager processes by default. */
export const DEFAULT_CLUSTER_QUERIES = DEFAULT_BENCH_QUERIES;

/** TaskManager processes of the cluster rows (1 slot each; the parallelism). */
export const CLUSTER_TASKMANAGERS = 2;

/** The queries also run with periodic checkpoints by default. */
export const DEFAULT_CHECKPOINT_QUERIES = ['q5', 'q8'];

/** Parallelism of the checkpoint rows. */
export const CHECKPOINT_PARALLELISM = 2;

const SEED = 42;

/** CPU seconds of waited-for children (Linux), 0 elsewhere. */
function childCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3; cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6 + childCpuSeconds();
}

/** Runs the hand-written baseline of `query` over `events` generated events; returns CPU seconds. */
export function runBaseline(
  query: BaselineQueryName,
  events: number,
): { cpuSeconds: number; seconds: number; outputs: number } {
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const base = createBaseline(query);
  const gen = new NexmarkGenerator({ seed: SEED, events });
  while (gen.hasNext()) base.push(gen.next());
  base.finish();
  return { cpuSeconds: cpuNow() - cpu0, seconds: (performance.now() - t0) / 1000, outputs: base.outputs };
}

/** Records the generator source asks for per call (the source task's batch, `sourceBatchSize`). */
const GENERATOR_BATCH = 512;
/** Events generated, untimed, before the generator rows. */
const GENERATOR_WARMUP_EVENTS = 300_000;

/**
 * Runs the generator alone: the `parallelism` shares of `events` events, one
 * after the other, into a discard sink (each event's timestamp taken as the
 * source does, then dropped), drawn in batches as the engine's source draws
 * them. Returns the generator row.
 */
export function runGenerator(
  events: number,
  parallelism: number,
): Omit<GeneratorBenchResult, keyof RepeatedMeasures> {
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const buffer: NexmarkEvent[] = [];
  let count = 0;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (let subtaskIndex = 0; subtaskIndex < parallelism; subtaskIndex++) {
    const gen = new NexmarkGenerator({ seed: SEED, events, subtaskIndex, parallelism });
    for (;;) {
      const n = gen.nextBatch(buffer, GENERATOR_BATCH);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const t = eventTime(buffer[i]!);
        if (t > maxTimestamp) maxTimestamp = t;
      }
      count += n;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuNow() - cpu0;
  if (count !== events || !(maxTimestamp > 0))
    throw new CliError(`the generator produced ${count} events, expected ${events}`);
  return {
    mode: 'generator',
    query: 'generator',
    parallelism,
    events,
    seconds: round(seconds, 3),
    cpuSeconds: round(cpuSeconds, 3),
    eventsPerSecond: Math.round(events / seconds),
    eventsPerCpuSecond: Math.round(events / cpuSeconds),
  };
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  events: number;
  queries: string[];
  parallelisms: number[];
  /** Queries (among `queries`) also run on a cluster of TaskManager processes. @default none */
  clusterQueries?: string[];
  /** Queries (among `queries`) also run with periodic checkpoints. @default none */
  checkpointQueries?: string[];
  /** Interval of the checkpoint rows. @default 1000 */
  checkpointIntervalMs?: number;
  /** Queries (among `queries`) also run on the disk state backend; with any, the memory-per-key rows too. @default none */
  stateBackendQueries?: string[];
  /** Keys of the memory-per-key rows and of the checkpoint bytes rows. @default 500,000 and 200,000 */
  stateMemoryKeys?: number;
  /** Write CPU profiles of the cluster's TaskManagers here. */
  profileDir?: string;
  /** The Apache Flink peer beside the local rows: a harness to run after them, or its results. */
  flink?: FlinkPeerSource;
  /** Start-up rows: a job's fixed CPU at each parallelism, and every local row's steady rate without it. @default false */
  startup?: boolean;
  /**
   * Runs of each generator, baseline and local row, interleaved (every row's
   * run r before any row's run r + 1), so that a slow spell of the machine
   * does not fall on one side of a ratio. @default 1
   */
  repeat?: number;
  /** Progress lines go here. */
  log?: (line: string) => void;
}

/**
 * The median of `runs` by events per CPU-second (their own figure when they
 * carry one, else `events` over their CPU seconds; of an even count, the
 * faster middle run), with the runs' range.
 */
export function medianRun<T extends { cpuSeconds: number; eventsPerCpuSecond?: number }>(
  runs: readonly T[],
  events: number,
): { median: T } & RepeatedMeasures {
  if (runs.length === 0) throw new Error('medianRun needs at least one run');
  const rate = (r: T) => r.eventsPerCpuSecond ?? events / r.cpuSeconds;
  const sorted = [...runs].sort((a, b) => rate(b) - rate(a));
  return {
    median: sorted[Math.floor((sorted.length - 1) / 2)]!,
    runs: runs.length,
    eventsPerCpuSecondMin: Math.round(rate(sorted[sorted.length - 1]!)),
    eventsPerCpuSecondMax: Math.round(rate(sorted[0]!)),
  };
}

/**
 * Runs the benchmark: a generator row per parallelism, then per query its
 * local rows (one per parallelism) and its cluster row if it is a cluster query.
 */
export async function runBench(opts: BenchOptions): Promise<BenchRow[]> {
  const log = opts.log ?? (() => {});
  const results: BenchRow[] = [];
  const clusterQueries = new Set(opts.clusterQueries ?? []);
  for (const q of clusterQueries) {
    if (!opts.queries.includes(q))
      throw new CliError(`Cluster query '${q}' is not among the benchmarked queries`);
  }
  for (const q of opts.checkpointQueries ?? []) {
    if (!opts.queries.includes(q))
      throw new CliError(`Checkpoint query '${q}' is not among the benchmarked queries`);
  }
  for (const query of opts.queries) {
    if (!(BASELINE_QUERIES as readonly string[]).includes(query))
      throw new CliError(`No benchmark for '${query}': choose among ${BASELINE_QUERIES.join(', ')}`);
  }
  // Every parallelism a local row runs at (the cluster rows add theirs).
  const parallelisms = new Set(opts.parallelisms);
  if (clusterQueries.size > 0) parallelisms.add(CLUSTER_TASKMANAGERS);
  if ((opts.checkpointQueries ?? []).length > 0) parallelisms.add(CHECKPOINT_PARALLELISM);
  if ((opts.stateBackendQueries ?? []).length > 0) parallelisms.add(STATE_BACKEND_PARALLELISM);
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new CliError(`repeat expects a positive integer (got ${repeat})`);
  const generators = new Map<number, GeneratorBenchResult>();
  // Untimed, so that every generator row measures optimised code: the first
  // row would otherwise carry the JIT's warm-up and the next ones not.
  runGenerator(Math.min(opts.events, GENERATOR_WARMUP_EVENTS), 1);
  const generatorRuns = new Map([...parallelisms].map((p) => [p, [] as ReturnType<typeof runGenerator>[]]));
  for (let r = 0; r < repeat; r++) {
    for (const [parallelism, runs] of generatorRuns) runs.push(runGenerator(opts.events, parallelism));
  }
  for (const [parallelism, runs] of generatorRuns) {
    const { median, ...range } = medianRun(runs, opts.events);
    const row: GeneratorBenchResult = { ...median, ...range };
    generators.set(parallelism, row);
    results.push(row);
    log(
      `generator p=${parallelism}: ${row.eventsPerSecond.toLocaleString('en-US')} events/s, ${row.eventsPerCpuSecond.toLocaleString('en-US')} events/CPU-s${spreadNote(row)}`,
    );
  }
  if (opts.startup === true) {
    for (const parallelism of parallelisms) {
      const row = await measureStartup(runLocal, parallelism);
      results.push(row);
      log(
        `start-up p=${parallelism}: ${row.cpuSeconds} CPU s (q0, ${row.events.toLocaleString('en-US')} events, median of ${row.runs})`,
      );
    }
  }
  let cluster: BenchCluster | undefined;
  try {
    for (const query of opts.queries) {
      const onCluster = clusterQueries.has(query);
      if (onCluster && cluster === undefined) {
        log(`starting a JobManager and ${CLUSTER_TASKMANAGERS} TaskManagers (1 slot each)…`);
        cluster = await startBenchCluster({
          taskManagers: CLUSTER_TASKMANAGERS,
          slots: 1,
          ...(opts.profileDir !== undefined ? { profileDir: opts.profileDir } : {}),
        });
      }
      await benchQuery(query, opts, generators, results, log, onCluster ? cluster : undefined);
    }
  } finally {
    await cluster?.stop();
  }
  if ((opts.stateBackendQueries ?? []).length > 0) {
    for (const backend of ['heap', 'disk'] as const) {
      const row = measureStateMemory(backend, opts.stateMemoryKeys ?? MEMORY_PER_KEY_KEYS);
      results.push(row);
      log(
        `memory per key on ${backend}: ${row.heapBytesPerKey} heap bytes (${row.keys.toLocaleString('en-US')} keys)`,
      );
    }
    for (const changed of CHECKPOINT_BYTES_CHANGED) {
      // The heap backend writes everything whatever the key groups; the disk backend at each count.
      const runs = [
        ['heap', 128] as const,
        ...CHECKPOINT_BYTES_KEY_GROUPS.map((kg) => ['disk', kg] as const),
      ];
      for (const [backend, keyGroups] of runs) {
        const keys = opts.stateMemoryKeys ?? CHECKPOINT_BYTES_KEYS;
        const row = measureCheckpointBytes(backend, keys, changed, keyGroups);
        results.push(row);
        log(
          `checkpoint bytes on ${backend} (${keyGroups} key groups), ${changed * 100} % of keys changed: ${row.intervalBytes} per interval, ${row.fullBytes} full`,
        );
      }
    }
  }
  if (opts.flink !== undefined) {
    const local = results.filter(
      (r): r is BenchResult => r.mode === 'local' && opts.parallelisms.includes(r.parallelism),
    );
    const steady = steadyRates(results);
    const withSteady = local.map((r) => {
      const s = steady.get(steadyKey(r.query, r.parallelism));
      return s === undefined ? r : { ...r, steadyEventsPerCpuSecond: s };
    });
    // After Freshet's rows, so that neither engine measures beside the other.
    results.push(...(await flinkPeerRows(opts.flink, withSteady, opts.events, SEED, log)));
  }
  return results;
}

async function benchQuery(
  query: string,
  opts: BenchOptions,
  generators: ReadonlyMap<number, GeneratorBenchResult>,
  results: BenchRow[],
  log: (line: string) => void,
  cluster: BenchCluster | undefined,
): Promise<void> {
  // The cluster and checkpoint rows compare with the local run at their parallelism, measured here too.
  const checkpointed = (opts.checkpointQueries ?? []).includes(query);
  const parallelisms = [...opts.parallelisms];
  if (cluster !== undefined && !parallelisms.includes(CLUSTER_TASKMANAGERS))
    parallelisms.push(CLUSTER_TASKMANAGERS);
  if (checkpointed && !parallelisms.includes(CHECKPOINT_PARALLELISM))
    parallelisms.push(CHECKPOINT_PARALLELISM);
  const onDisk = (opts.stateBackendQueries ?? []).includes(query);
  if (onDisk && !parallelisms.includes(STATE_BACKEND_PARALLELISM))
    parallelisms.push(STATE_BACKEND_PARALLELISM);
  let heapEventsPerCpuSecond = 0;
  let heapOutputs = 0;
  let localAtClusterP: { runningSeconds: number; exchangeBytes: number; outputs: number } | undefined;
  let localAtCheckpointP: { eventsPerSecond: number; eventsPerCpuSecond: number } | undefined;
  // Round r runs the baseline, then the query at each parallelism.
  const repeat = opts.repeat ?? 1;
  const baselineRuns: ReturnType<typeof runBaseline>[] = [];
  const localRuns = new Map(parallelisms.map((p) => [p, [] as Awaited<ReturnType<typeof runLocal>>[]]));
  for (let r = 0; r < repeat; r++) {
    const base = runBaseline(query as BaselineQueryName, opts.events);
    baselineRuns.push(base);
    log(
      `${query} baseline${repeat > 1 ? ` (run ${r + 1} of ${repeat})` : ''}: ${Math.round(opts.events / base.cpuSeconds).toLocaleString('en-US')} events/CPU-s (${base.outputs} results)`,
    );
    for (const [parallelism, runs] of localRuns) runs.push(await runLocal(query, parallelism, opts.events));
  }
  const baselineRate = opts.events / medianRun(baselineRuns, opts.events).median.cpuSeconds;
  for (const parallelism of parallelisms) {
    const { median, ...range } = medianRun(localRuns.get(parallelism)!, opts.events);
    const { run, seconds, cpuSeconds, outputs } = median;
    if (parallelism === CHECKPOINT_PARALLELISM) {
      localAtCheckpointP = {
        eventsPerSecond: Math.round(opts.events / seconds),
        eventsPerCpuSecond: Math.round(opts.events / cpuSeconds),
      };
    }
    if (parallelism === STATE_BACKEND_PARALLELISM) {
      heapEventsPerCpuSecond = Math.round(opts.events / cpuSeconds);
      heapOutputs = outputs;
    }
    const generator = generators.get(parallelism)!;
    const row: BenchResult = {
      mode: 'local',
      query,
      parallelism,
      events: opts.events,
      seconds: round(seconds, 3),
      cpuSeconds: round(cpuSeconds, 3),
      eventsPerSecond: Math.round(opts.events / seconds),
      eventsPerCpuSecond: Math.round(opts.events / cpuSeconds),
      baselineEventsPerCpuSecond: Math.round(baselineRate),
      ratioToBaseline: round(opts.events / cpuSeconds / baselineRate, 3),
      engineOverheadNsPerEvent: round(
        (1e9 * cpuSeconds) / opts.events - 1e9 / generator.eventsPerCpuSecond,
        1,
      ),
      outputs,
      ...range,
    };
    results.push(row);
    log(
      `${query} p=${parallelism}: ${row.eventsPerSecond.toLocaleString('en-US')} events/s, ${row.eventsPerCpuSecond.toLocaleString('en-US')} events/CPU-s${spreadNote(row)}, engine ${row.engineOverheadNsPerEvent} ns/event`,
    );
    if (parallelism === CLUSTER_TASKMANAGERS) {
      // Running time (every worker ready to the end), as the cluster rows measure from the subtasks' RUNNING.
      const metrics = run.metrics as { subtasks?: SubtaskMetrics[]; elapsedMs?: number } | undefined;
      localAtClusterP = {
        runningSeconds: (metrics?.elapsedMs ?? seconds * 1000) / 1000,
        exchangeBytes: (metrics?.subtasks ?? []).reduce((sum, m) => sum + m.bytesOut, 0),
        outputs,
      };
    }
  }
  if (checkpointed && localAtCheckpointP !== undefined) {
    const intervalMs = opts.checkpointIntervalMs ?? 1000;
    const { run, seconds, cpuSeconds } = await runLocal(
      query,
      CHECKPOINT_PARALLELISM,
      opts.events,
      intervalMs,
    );
    const periodic = run.checkpoints.filter((c) => !c.final);
    const durations = periodic.map((c) => c.durationMs);
    const sizes = periodic.map((c) => c.bytes);
    const eventsPerSecond = Math.round(opts.events / seconds);
    const eventsPerCpuSecond = Math.round(opts.events / cpuSeconds);
    const row: CheckpointBenchResult = {
      mode: 'checkpoints',
      query,
      parallelism: CHECKPOINT_PARALLELISM,
      events: opts.events,
      intervalMs,
      seconds: round(seconds, 3),
      eventsPerSecond,
      baseEventsPerSecond: localAtCheckpointP.eventsPerSecond,
      throughputRatio: round(eventsPerSecond / localAtCheckpointP.eventsPerSecond, 3),
      cpuSeconds: round(cpuSeconds, 3),
      eventsPerCpuSecond,
      baseEventsPerCpuSecond: localAtCheckpointP.eventsPerCpuSecond,
      cpuRatio: round(eventsPerCpuSecond / localAtCheckpointP.eventsPerCpuSecond, 3),
      checkpoints: periodic.length,
      durationP50Ms: round(percentile(durations, 0.5), 1),
      durationP99Ms: round(percentile(durations, 0.99), 1),
      bytesP50: Math.round(percentile(sizes, 0.5)),
      bytesMax: Math.round(Math.max(0, ...sizes)),
      alignmentP99Ms: round(
        percentile(
          periodic.map((c) => c.alignmentMs),
          0.99,
        ),
        1,
      ),
    };
    results.push(row);
    log(
      `${query} p=${CHECKPOINT_PARALLELISM} checkpoints every ${intervalMs} ms: ${eventsPerSecond.toLocaleString('en-US')} events/s (${Math.round(row.throughputRatio * 100)} % of without; per CPU-second ${Math.round(row.cpuRatio * 100)} %), ${row.checkpoints} checkpoints, duration p50 ${row.durationP50Ms} ms p99 ${row.durationP99Ms} ms, size p50 ${(row.bytesP50 / 1024).toFixed(0)} KiB`,
    );
  }
  if (onDisk) {
    const { seconds, cpuSeconds, outputs } = await runLocal(
      query,
      STATE_BACKEND_PARALLELISM,
      opts.events,
      undefined,
      'disk',
    );
    // The same work: a backend that lost or invented state would change the results.
    if (outputs !== heapOutputs) {
      throw new CliError(
        `${query} on the disk state backend produced ${outputs} results, on the heap ${heapOutputs}`,
      );
    }
    const eventsPerCpuSecond = Math.round(opts.events / cpuSeconds);
    const row: StateBackendBenchResult = {
      mode: 'state-backend',
      query,
      backend: 'disk',
      parallelism: STATE_BACKEND_PARALLELISM,
      events: opts.events,
      seconds: round(seconds, 3),
      cpuSeconds: round(cpuSeconds, 3),
      eventsPerSecond: Math.round(opts.events / seconds),
      eventsPerCpuSecond,
      heapEventsPerCpuSecond,
      ratioToHeap: round(eventsPerCpuSecond / heapEventsPerCpuSecond, 3),
    };
    results.push(row);
    log(
      `${query} p=${STATE_BACKEND_PARALLELISM} on the disk state backend: ${row.eventsPerCpuSecond.toLocaleString('en-US')} events/CPU-s (${Math.round(row.ratioToHeap * 100)} % of heap)`,
    );
  }
  if (cluster !== undefined && localAtClusterP !== undefined) {
    const c = await runClusterQuery(cluster, {
      query,
      events: opts.events,
      seed: SEED,
      parallelism: CLUSTER_TASKMANAGERS,
    });
    const local = localAtClusterP;
    const localEventsPerSecond = Math.round(opts.events / local.runningSeconds);
    const row: ClusterBenchResult = {
      ...c,
      localEventsPerSecond,
      localExchangeBytesPerSecond: Math.round(local.exchangeBytes / local.runningSeconds),
      ratioToLocal: round(c.eventsPerSecond / localEventsPerSecond, 3),
      localOutputs: local.outputs,
    };
    results.push(row);
    log(
      `${query} p=${row.parallelism} on ${row.taskManagers} TaskManagers: ${row.eventsPerSecond.toLocaleString('en-US')} events/s (${Math.round(row.ratioToLocal * 100)} % of local), ${row.eventsPerCpuSecond.toLocaleString('en-US')} events/CPU-s, ${(row.exchangeBytesPerSecond / 1e6).toFixed(1)} MB/s across the exchange`,
    );
  }
}

/** Nearest-rank percentile of `values` (0 when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Runs a query once on the local mini-cluster (generator source, discard sink) and checks it consumed every event. */
async function runLocal(
  query: string,
  parallelism: number,
  events: number,
  checkpointInterval?: number,
  stateBackend?: 'disk',
): Promise<{
  run: Awaited<ReturnType<typeof executeNexmarkQuery>>;
  seconds: number;
  cpuSeconds: number;
  outputs: number;
}> {
  const prepared = await prepareNexmarkQuery({
    query,
    events,
    seed: SEED,
    parallelism,
    mode: 'streaming',
    discard: true,
    ...(checkpointInterval !== undefined ? { checkpointInterval } : {}),
    ...(stateBackend !== undefined ? { stateBackend } : {}),
  });
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const run = await executeNexmarkQuery(prepared);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuNow() - cpu0;
  if (run.status !== 'FINISHED') {
    const err = run.error as { message?: string } | undefined;
    throw new CliError(
      `${query} at parallelism ${parallelism} ended ${run.status}${err?.message ? `: ${err.message}` : ''}`,
    );
  }
  // Make sure the run really consumed every event (a benchmark of a short-circuited job is worthless).
  const produced = (run.metrics as { sourceRecords?: number } | undefined)?.sourceRecords;
  if (produced !== undefined && produced !== events) {
    throw new CliError(
      `${query} at parallelism ${parallelism}: the sources emitted ${produced} events, expected ${events}`,
    );
  }
  // The discard sinks report what they received as `recordsWritten`.
  const subtasks = (run.metrics as { subtasks?: SubtaskMetrics[] } | undefined)?.subtasks ?? [];
  const outputs = subtasks.reduce((sum, m) => sum + (m.connector?.recordsWritten ?? 0), 0);
  return { run, seconds, cpuSeconds, outputs };
}

const HEADERS = [
  'query',
  'p',
  'events',
  'seconds',
  'CPU s',
  'events/s',
  'events/CPU-s',
  'spread',
  'baseline events/CPU-s',
  'ratio',
  'engine ns/event',
];

/** How far a row's runs spread around its median: ± half their range of events/CPU-s, in % of the median. */
export function spreadPercent(r: RepeatedMeasures & { eventsPerCpuSecond: number }): number {
  return (50 * (r.eventsPerCpuSecondMax - r.eventsPerCpuSecondMin)) / r.eventsPerCpuSecond;
}

function spreadCell(r: RepeatedMeasures & { eventsPerCpuSecond: number }): string {
  return r.runs > 1 ? `±${spreadPercent(r).toFixed(1)} % (${r.runs} runs)` : '—';
}

function spreadNote(r: RepeatedMeasures & { eventsPerCpuSecond: number }): string {
  return r.runs > 1 ? ` (median of ${r.runs} runs, ±${spreadPercent(r).toFixed(1)} %)` : '';
}

const isCluster = (r: BenchRow): r is ClusterBenchResult => r.mode === 'cluster';
const isCheckpointed = (r: BenchRow): r is CheckpointBenchResult => r.mode === 'checkpoints';
const isFlink = (r: BenchRow): r is FlinkPeerResult => r.mode === 'flink';

/** Column headers of the checkpoint rows. */
export const CHECKPOINT_HEADERS = [
  'query',
  'p',
  'interval ms',
  'events/s',
  'without checkpoints',
  'ratio',
  'CPU ratio',
  'checkpoints',
  'duration p50 ms',
  'duration p99 ms',
  'size p50',
  'size max',
  'alignment p99 ms',
];

/** The checkpoint rows as table cells. */
export function checkpointRows(results: readonly BenchRow[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  return results
    .filter(isCheckpointed)
    .map((r) => [
      r.query,
      String(r.parallelism),
      n(r.intervalMs),
      n(r.eventsPerSecond),
      n(r.baseEventsPerSecond),
      r.throughputRatio.toFixed(2),
      r.cpuRatio.toFixed(2),
      String(r.checkpoints),
      r.durationP50Ms.toFixed(1),
      r.durationP99Ms.toFixed(1),
      kib(r.bytesP50),
      kib(r.bytesMax),
      r.alignmentP99Ms.toFixed(1),
    ]);
}

/** The generator rows then the local rows; a generator row has no baseline, ratio or overhead. */
function rows(results: readonly BenchRow[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  const cells: string[][] = [];
  for (const r of results) {
    if (r.mode !== 'local' && r.mode !== 'generator') continue;
    const common = [
      r.query,
      String(r.parallelism),
      n(r.events),
      r.seconds.toFixed(2),
      r.cpuSeconds.toFixed(2),
      n(r.eventsPerSecond),
      n(r.eventsPerCpuSecond),
      spreadCell(r),
    ];
    cells.push(
      r.mode === 'generator'
        ? [...common, '—', '—', '—']
        : [
            ...common,
            n(r.baselineEventsPerCpuSecond),
            r.ratioToBaseline.toFixed(2),
            r.engineOverheadNsPerEvent.toFixed(1),
          ],
    );
  }
  return cells;
}

/** Renders the local rows as a markdown table, then the cluster rows (if any) as a second section. */
export function benchMarkdown(results: readonly BenchRow[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const table = (headers: readonly string[], cells: string[][]) =>
    [line(headers), line(headers.map(() => '---')), ...cells.map(line)].join('\n');
  const parts = [table(HEADERS, rows(results))];
  if (results.some((r) => r.mode === 'startup')) {
    parts.push(
      `## Start-up and steady state (local mini-cluster)\n\n${STARTUP_NOTE}\n\n${table(STARTUP_HEADERS, startupRows(results))}`,
    );
  }
  if (results.some(isCheckpointed)) {
    parts.push(
      `## Checkpoints (local mini-cluster)\n\n${CHECKPOINT_NOTE}\n\n${table(CHECKPOINT_HEADERS, checkpointRows(results))}`,
    );
  }
  if (results.some((r) => r.mode === 'state-backend' || r.mode === 'state-memory')) {
    parts.push(
      `## State backends (local mini-cluster)\n\n${STATE_BACKEND_NOTE}\n\n${table(STATE_BACKEND_HEADERS, stateBackendRows(results))}\n\n${table(STATE_MEMORY_HEADERS, stateMemoryRows(results))}\n\n${table(CHECKPOINT_BYTES_HEADERS, checkpointBytesRows(results))}`,
    );
  }
  const flink = results.filter(isFlink);
  if (flink.length > 0) {
    parts.push(
      `## Apache Flink ${flink[0]!.flinkVersion} beside Freshet (local, same events)\n\n${FLINK_NOTE}\n\n${table(FLINK_HEADERS, flinkRows(flink))}`,
    );
  }
  const cluster = results.filter(isCluster);
  if (cluster.length > 0) {
    parts.push(
      `## Cluster: JobManager + ${CLUSTER_TASKMANAGERS} TaskManager processes (1 slot each)\n\n${CLUSTER_NOTE}\n\n${table(CLUSTER_HEADERS, clusterRows(cluster))}`,
    );
  }
  return parts.join('\n\n');
}

const CLUSTER_NOTE =
  "Parallelism 2 split across the two TaskManagers, so half of every exchange crosses TCP. Seconds: first subtask RUNNING to last subtask FINISHED (deploying excluded). CPU: utime + stime of the TaskManager and JobManager processes and of every process under them (the sandboxed job processes that run the tasks) from `/proc/<pid>/stat`, sampled every 20 ms and interpolated over the same window. Local events/s: over the local mini-cluster's running time at parallelism 2 in the same run (workers ready to the end: its startup excluded likewise, unlike the table above). Exchange: sums of every subtask's `recordsOut` / `bytesOut` (record writers: local channels and TCP) from `jobs.get`. Ratio to local: events/s over the local mini-cluster's at parallelism 2 in the same run.";

const CHECKPOINT_NOTE =
  "Each query at parallelism 2 with a checkpoint every interval (aligned barriers, exactly-once), next to the same query and parallelism without checkpoints in the same bench run; events/s over wall-clock seconds as above; CPU ratio: the same over user + system CPU seconds of the process. Duration: trigger to completion (every subtask stored its snapshot and `_metadata` was written), over the periodic checkpoints (not the final one at the end of input); size: every subtask's encoded snapshot, summed per checkpoint.";

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Registers `freshet bench`. */
export function register(program: Command): void {
  program
    .command('bench')
    .description('Benchmark the Nexmark queries on the local mini-cluster against hand-written baselines')
    .option('--events <n>', 'events per run (from the built-in generator)', '5000000')
    .option('--queries <list>', 'comma-separated queries', DEFAULT_BENCH_QUERIES.join(','))
    .option('--parallelism <list>', 'comma-separated parallelisms', '1,2')
    .option(
      '--repeat <n>',
      'runs of each generator, baseline and local row, interleaved; each row shows its median run and how far the runs spread',
      '3',
    )
    .option('--json', 'print the results as JSON')
    .option('--no-save', 'do not write bench/results/latest.{json,md}')
    .option(
      '--cluster',
      `also run ${DEFAULT_CLUSTER_QUERIES.join(', ')} (those among --queries) on a JobManager + ${CLUSTER_TASKMANAGERS} TaskManager processes started by the bench (default)`,
    )
    .option('--no-cluster', 'local mini-cluster rows only')
    .option('--cluster-queries <list>', 'queries for the cluster rows', DEFAULT_CLUSTER_QUERIES.join(','))
    .option(
      '--profile-dir <dir>',
      'write CPU profiles of the cluster JobManager and TaskManagers here (their own threads: the tasks run in sandboxed job processes, which the permission model keeps from writing profiles; the dashboard profiles those)',
    )
    .option(
      '--checkpoint-queries <list>',
      `queries also run at parallelism ${CHECKPOINT_PARALLELISM} with periodic checkpoints (those among --queries)`,
      DEFAULT_CHECKPOINT_QUERIES.join(','),
    )
    .option('--no-checkpoints', 'no checkpoint rows')
    .option('--checkpoint-interval <ms>', 'checkpoint interval of the checkpoint rows', '1000')
    .option(
      '--state-backend-queries <list>',
      `queries also run at parallelism ${STATE_BACKEND_PARALLELISM} on the disk state backend, with the memory-per-key rows (those among --queries)`,
      DEFAULT_STATE_BACKEND_QUERIES.join(','),
    )
    .option('--no-state-backends', 'no state backend rows')
    .option(
      '--no-startup',
      "no start-up rows (a job's fixed CPU at each parallelism, and the steady rates without it)",
    )
    .option(
      '--flink <dir>',
      'after the local rows, run the Apache Flink peer harness in <dir> (its run.sh, e.g. ../shared/peer-flink) on the same events, queries and parallelisms, and compare',
    )
    .option(
      '--flink-results <dir>',
      "compare with the Flink peer's results in <dir> (its latest-details.json, from a run over the same number of events) instead of running it",
    )
    .action(
      async (o: {
        events: string;
        repeat: string;
        queries: string;
        parallelism: string;
        json?: boolean;
        save: boolean;
        cluster?: boolean;
        clusterQueries: string;
        profileDir?: string;
        checkpoints?: boolean;
        checkpointQueries: string;
        checkpointInterval: string;
        stateBackends?: boolean;
        stateBackendQueries: string;
        startup?: boolean;
        flink?: string;
        flinkResults?: string;
      }) => {
        const events = Number(o.events);
        if (!Number.isInteger(events) || events < 1)
          throw new CliError(`--events expects a positive integer (got '${o.events}')`);
        const repeat = Number(o.repeat);
        if (!Number.isInteger(repeat) || repeat < 1)
          throw new CliError(`--repeat expects a positive integer (got '${o.repeat}')`);
        const parallelisms = list(o.parallelism).map(Number);
        if (parallelisms.some((p) => !Number.isInteger(p) || p < 1))
          throw new CliError(`--parallelism expects positive integers (got '${o.parallelism}')`);
        const queries = list(o.queries);
        const checkpointIntervalMs = Number(o.checkpointInterval);
        if (!Number.isInteger(checkpointIntervalMs) || checkpointIntervalMs < 1)
          throw new CliError(
            `--checkpoint-interval expects a positive integer (got '${o.checkpointInterval}')`,
          );
        if (o.flink !== undefined && o.flinkResults !== undefined)
          throw new CliError(
            '--flink and --flink-results exclude each other: run the peer, or read its results',
          );
        const flink: FlinkPeerSource | undefined =
          o.flink !== undefined
            ? { run: o.flink }
            : o.flinkResults !== undefined
              ? { results: o.flinkResults }
              : undefined;
        const results = await runBench({
          events,
          repeat,
          queries,
          parallelisms,
          clusterQueries:
            o.cluster === false ? [] : list(o.clusterQueries).filter((q) => queries.includes(q)),
          ...(o.profileDir !== undefined ? { profileDir: o.profileDir } : {}),
          checkpointQueries:
            o.checkpoints === false ? [] : list(o.checkpointQueries).filter((q) => queries.includes(q)),
          checkpointIntervalMs,
          stateBackendQueries:
            o.stateBackends === false ? [] : list(o.stateBackendQueries).filter((q) => queries.includes(q)),
          ...(flink !== undefined ? { flink } : {}),
          startup: o.startup !== false,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        if (o.json) printJson(results);
        else {
          process.stdout.write(`${formatTable(HEADERS, rows(results))}\n`);
          if (results.some((r) => r.mode === 'startup'))
            process.stdout.write(`\n${formatTable(STARTUP_HEADERS, startupRows(results))}\n`);
          if (results.some(isCheckpointed))
            process.stdout.write(`\n${formatTable(CHECKPOINT_HEADERS, checkpointRows(results))}\n`);
          if (results.some((r) => r.mode === 'state-backend'))
            process.stdout.write(`\n${formatTable(STATE_BACKEND_HEADERS, stateBackendRows(results))}\n`);
          if (results.some((r) => r.mode === 'state-memory'))
            process.stdout.write(`\n${formatTable(STATE_MEMORY_HEADERS, stateMemoryRows(results))}\n`);
          if (results.some((r) => r.mode === 'checkpoint-bytes'))
            process.stdout.write(
              `\n${formatTable(CHECKPOINT_BYTES_HEADERS, checkpointBytesRows(results))}\n`,
            );
          const flinkResults = results.filter(isFlink);
          if (flinkResults.length > 0)
            process.stdout.write(`\n${formatTable(FLINK_HEADERS, flinkRows(flinkResults))}\n`);
          const cluster = results.filter(isCluster);
          if (cluster.length > 0)
            process.stdout.write(`\n${formatTable(CLUSTER_HEADERS, clusterRows(cluster))}\n`);
        }
        if (o.save) {
          const dir = join(dirname(dirname(findNexmarkExamplesDir())), 'bench', 'results');
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
          const header = `# Freshet Nexmark benchmark\n\n${new Date().toISOString()}, ${events.toLocaleString('en-US')} events per run, generator source, streaming mode, discard sink. CPU = user + system of the whole process (worker threads included). Generator rows: the generator alone into a discard sink in one thread (the p shares in turn), no engine. Engine ns/event: CPU nanoseconds per event beyond generating it (10^9 / events/CPU-s − the same for the generator row at that p). ${repeat > 1 ? `Each generator, baseline and local row ran ${repeat} times, interleaved (every row's run r before any row's run r + 1); a row shows its median run by events/CPU-s, spread: ± half the range of the runs' events/CPU-s, in % of the median.` : 'One run per row.'}\n\n`;
          await writeFile(join(dir, 'latest.md'), `${header}${benchMarkdown(results)}\n`);
        }
      },
    );
}
