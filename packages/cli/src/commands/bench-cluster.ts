/**
 * The cluster rows of `freshet bench`: a JobManager and N TaskManager
 * processes (1 slot each) started by the bench itself on 127.0.0.1 free
 * ports, a Nexmark query submitted to them at parallelism N (so every
 * exchange is split across the TaskManagers, half of it over TCP), measured
 * from the JobManager's view of the job.
 *
 * - **seconds**: first subtask RUNNING to last subtask FINISHED, from the
 *   subtasks' own transition times (deploying and re-planning excluded, as
 *   the local rows exclude compiling and planning).
 * - **CPU seconds**: user + system of the TaskManager processes and the
 *   JobManager and of every process under them (the sandboxed job
 *   processes that run the tasks), all threads, from `/proc/<pid>/stat`
 *   (utime + stime, 10 ms ticks; see `ProcessTrees`),
 *   sampled every 20 ms and interpolated at the same two instants, so
 *   deploying is excluded too.
 * - **exchange records/bytes**: the sums of every subtask's `recordsOut` and
 *   `bytesOut` (what its record writers sent downstream, local channels and
 *   TCP alike) from `jobs.get`'s metrics, per second.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobManagerClient } from '@freshet/jobmanager/client';
import { ProcessGroup } from '@freshet/launcher';
import { CliError } from '../output.js';
import { call, connect } from './jobs.js';
import {
  findNexmarkExamplesDir,
  nexmarkProgramArgs,
  nexmarkProgramPath,
  uploadNexmarkProgram,
} from './nexmark.js';

/** One cluster row of the benchmark's results. */
export interface ClusterBenchResult {
  mode: 'cluster';
  query: string;
  parallelism: number;
  taskManagers: number;
  events: number;
  /** First subtask RUNNING to last subtask FINISHED. */
  seconds: number;
  /** The job's duration as the JobManager recorded it (deploying included). */
  jobSeconds: number;
  /** User + system CPU seconds of the TaskManagers and the JobManager while the subtasks ran. */
  cpuSeconds: number;
  /** Of which the JobManager's. */
  jobManagerCpuSeconds: number;
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
  /** Records sent by all subtasks' record writers, per second. */
  exchangeRecordsPerSecond: number;
  /** Bytes sent by all subtasks' record writers, per second. */
  exchangeBytesPerSecond: number;
  /** The local mini-cluster's events per running second (workers ready to the end) at the same parallelism, in the same bench run. */
  localEventsPerSecond: number;
  /** The local mini-cluster's exchange bytes per second (same sums). */
  localExchangeBytesPerSecond: number;
  /** eventsPerSecond / localEventsPerSecond. */
  ratioToLocal: number;
  /** Records the discard sinks received (`recordsWritten` of every subtask's connector metrics). */
  outputs: number;
  /** Records the local run's discard sinks received at the same parallelism: the cluster's must equal it. */
  localOutputs: number;
}

/** A cluster of separate processes owned by the bench. */
export interface BenchCluster {
  url: string;
  client: JobManagerClient;
  jobManagerPid: number;
  taskManagerPids: number[];
  /** Stops every process (TaskManagers first, SIGTERM then SIGKILL after 5 s) and removes the data directory. */
  stop(): Promise<void>;
}

/** Options of {@link startBenchCluster}. */
export interface BenchClusterOptions {
  taskManagers: number;
  slots: number;
  /** Write CPU profiles of the JobManager and the TaskManagers here (`--cpu-prof`; their own threads, not the sandboxed job processes). */
  profileDir?: string;
  /** How long a process may take to become ready. @default 60000 */
  startTimeoutMs?: number;
}

/** The built `bin.js` of a workspace app (`apps/<name>/dist`, also when this module runs from sources under a test runner). */
function distBinOf(app: 'jobmanager' | 'taskmanager'): string {
  const bin = join(dirname(dirname(findNexmarkExamplesDir())), 'apps', app, 'dist', 'bin.js');
  if (!existsSync(bin)) throw new CliError(`bench: ${bin} is missing: build first (pnpm build)`);
  return bin;
}

/** Starts a JobManager (embedded database in a temporary directory) and the TaskManagers, all on 127.0.0.1 free ports. */
export async function startBenchCluster(opts: BenchClusterOptions): Promise<BenchCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'freshet-bench-cluster-'));
  const group = new ProcessGroup({
    bins: { jobManager: distBinOf('jobmanager'), taskManager: distBinOf('taskmanager') },
    env: { DATABASE_URL: undefined },
    // Enough for startup and a few jobs; the tail shows in errors.
    logs: { retain: 5_000 },
    readyTimeoutMs: opts.startTimeoutMs ?? 60_000,
    graceMs: 5_000,
  });
  group.defer(() => rm(dir, { recursive: true, force: true }));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await group.dispose();
  };
  try {
    const execArgv = opts.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
    const jm = await group.startJobManager({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir, 'jobmanager'),
      execArgv,
    });
    const tms = await Promise.all(
      Array.from({ length: opts.taskManagers }, (_, i) =>
        group.startTaskManager({
          jobManagerUrl: jm.url,
          slots: opts.slots,
          host: '127.0.0.1',
          dataPort: 0,
          resourceId: `bench-taskmanager-${i + 1}`,
          dataDir: join(dir, `taskmanager-${i + 1}`),
          execArgv,
        }),
      ),
    );
    return {
      url: jm.url,
      client: await connect({ jobmanager: jm.url, token: jm.adminToken }),
      jobManagerPid: jm.pid,
      taskManagerPids: tms.map((tm) => tm.pid),
      stop,
    };
  } catch (err) {
    await stop();
    throw new CliError(`bench: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `/proc/<pid>/stat` after the command name (which may contain spaces): field 3 (state) first. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * The CPU of process trees, sampled: each process's own user + system CPU
 * (`/proc/<pid>/stat` utime + stime, clock ticks of 1/100 s, all its
 * threads), for the roots and every process under them, each counted at the
 * last value seen even after it exited. A TaskManager runs a job's tasks in
 * a sandboxed job process (bubblewrap's child), whose CPU would reach the
 * TaskManager's own counters only once waited for, and not at all through
 * a parent that does not wait; a process that lives less than a sampling
 * interval is missed.
 */
class ProcessTrees {
  /** Last own CPU seconds seen per process, by root. */
  readonly #seen: Map<number, number>[];
  constructor(private readonly roots: readonly number[]) {
    this.#seen = roots.map(() => new Map<number, number>());
  }
  /** CPU seconds of each tree so far. */
  sample(): number[] {
    const children = new Map<number, number[]>();
    const own = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let fields: string[];
      try {
        fields = statFields(entry);
      } catch {
        continue; // gone meanwhile
      }
      const pid = Number(entry);
      own.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
      const ppid = Number(fields[1]);
      let list = children.get(ppid);
      if (!list) children.set(ppid, (list = []));
      list.push(pid);
    }
    return this.roots.map((root, i) => {
      const seen = this.#seen[i]!;
      const todo = [root];
      while (todo.length > 0) {
        const pid = todo.pop()!;
        const cpu = own.get(pid);
        if (cpu !== undefined) seen.set(pid, Math.max(cpu, seen.get(pid) ?? 0));
        for (const child of children.get(pid) ?? []) todo.push(child);
      }
      let total = 0;
      for (const cpu of seen.values()) total += cpu;
      return total;
    });
  }
}

/**
 * Reads the CPU seconds of some processes every 20 ms (a few `/proc` reads,
 * in this process: not counted), so the CPU of a window known only later
 * (the subtasks' own RUNNING and FINISHED times) can be interpolated.
 */
class CpuSampler {
  readonly #samples: { t: number; cpu: number[] }[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #trees: ProcessTrees;
  constructor(pids: readonly number[]) {
    this.#trees = new ProcessTrees(pids);
    this.#sample();
    this.#timer = setInterval(() => {
      this.#sample();
    }, 20);
  }
  #sample(): void {
    try {
      this.#samples.push({ t: Date.now(), cpu: this.#trees.sample() });
    } catch {
      // A process is gone; the run fails elsewhere.
    }
  }
  stop(): void {
    clearInterval(this.#timer);
    this.#sample();
  }
  /** Interpolated CPU seconds of every process at time `t` (epoch ms). */
  #at(t: number): number[] {
    const s = this.#samples;
    if (s.length === 0) throw new CliError('bench: no CPU samples');
    if (t <= s[0]!.t) return s[0]!.cpu;
    for (let i = 1; i < s.length; i++) {
      const b = s[i]!;
      if (b.t < t) continue;
      const a = s[i - 1]!;
      const f = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
      return a.cpu.map((x, j) => x + (b.cpu[j]! - x) * f);
    }
    return s.at(-1)!.cpu;
  }
  /** CPU seconds used in `[from, to]`: in total and by the last process. */
  between(from: number, to: number): { total: number; last: number } {
    const a = this.#at(from);
    const b = this.#at(to);
    const d = b.map((x, i) => x - a[i]!);
    return { total: d.reduce((x, y) => x + y, 0), last: d.at(-1)! };
  }
}

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

type Job = Awaited<ReturnType<JobManagerClient['jobs']['get']['query']>>;

function exchangeTotals(job: Job): { records: number; bytes: number; outputs: number; complete: boolean } {
  let records = 0;
  let bytes = 0;
  let outputs = 0;
  let complete = true;
  for (const s of job.subtasks) {
    if (s.metrics === null) complete = false;
    else {
      records += s.metrics.recordsOut;
      bytes += s.metrics.bytesOut;
      outputs += s.metrics.connector?.recordsWritten ?? 0;
    }
  }
  return { records, bytes, outputs, complete };
}

/** What {@link runClusterQuery} measured, before the comparison with the local run. */
export type ClusterRun = Omit<
  ClusterBenchResult,
  'localEventsPerSecond' | 'localExchangeBytesPerSecond' | 'ratioToLocal' | 'localOutputs'
>;

/** Uploads `query`, runs it on the cluster over `events` generated events with a discard sink, and measures it. */
export async function runClusterQuery(
  cluster: BenchCluster,
  opts: { query: string; events: number; seed: number; parallelism: number; timeoutMs?: number },
): Promise<ClusterRun> {
  const { client, url } = cluster;
  const pids = [...cluster.taskManagerPids, cluster.jobManagerPid];
  const artifactId = await uploadNexmarkProgram(client, url, nexmarkProgramPath({ query: opts.query }));
  const args = nexmarkProgramArgs({ query: opts.query, events: opts.events, seed: opts.seed, discard: true });
  const sampler = new CpuSampler(pids);
  let job: Job;
  try {
    const { jobId } = await call(url, () =>
      client.jobs.submit.mutate({
        artifactId,
        args,
        parallelism: opts.parallelism,
        runtimeMode: 'STREAMING',
        name: `bench ${opts.query}`,
      }),
    );
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      job = await call(url, () => client.jobs.get.query({ jobId }));
      if (TERMINAL.has(job.status)) break;
      if (Date.now() > deadline) {
        await call(url, () => client.jobs.cancel.mutate({ jobId })).catch(() => undefined);
        throw new CliError(`bench: ${opts.query} on the cluster did not end within ${timeoutMs / 1000} s`);
      }
      await sleep(250);
    }
    if (job.status !== 'FINISHED') {
      throw new CliError(
        `bench: ${opts.query} on the cluster ended ${job.status}${job.failureCause ? `: ${job.failureCause}` : ''}`,
      );
    }
    // A subtask's last metrics sample goes out after its FINISHED: wait until every subtask has one and they hold still.
    let totals = exchangeTotals(job);
    for (let i = 0; i < 30; i++) {
      await sleep(200);
      job = await call(url, () => client.jobs.get.query({ jobId }));
      const next = exchangeTotals(job);
      const settled =
        next.complete &&
        totals.complete &&
        next.records === totals.records &&
        next.outputs === totals.outputs;
      totals = next;
      if (settled) break;
    }
  } finally {
    sampler.stop();
  }
  const totals = exchangeTotals(job);
  const starts = job.subtasks.flatMap((s) => (s.startedAt ? [Date.parse(s.startedAt)] : []));
  const ends = job.subtasks.flatMap((s) => (s.endedAt ? [Date.parse(s.endedAt)] : []));
  if (starts.length === 0 || ends.length === 0)
    throw new CliError(`bench: ${opts.query} on the cluster: the subtasks have no start or end times`);
  const from = Math.min(...starts);
  const to = Math.max(...ends);
  const seconds = Math.max(to - from, 1) / 1000;
  const cpu = sampler.between(from, to);
  const taskManagers = new Set(job.subtasks.map((s) => s.taskManager?.id)).size;
  return {
    mode: 'cluster',
    query: opts.query,
    parallelism: opts.parallelism,
    taskManagers,
    events: opts.events,
    seconds: round(seconds, 3),
    jobSeconds: round(job.durationMs / 1000, 3),
    cpuSeconds: round(cpu.total, 3),
    jobManagerCpuSeconds: round(cpu.last, 3),
    eventsPerSecond: Math.round(opts.events / seconds),
    eventsPerCpuSecond: Math.round(opts.events / Math.max(cpu.total, 0.01)),
    exchangeRecordsPerSecond: Math.round(totals.records / seconds),
    exchangeBytesPerSecond: Math.round(totals.bytes / seconds),
    outputs: totals.outputs,
  };
}

/** Rounds to `digits` decimals. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Headers of the cluster table. */
export const CLUSTER_HEADERS = [
  'query',
  'p',
  'TMs',
  'events',
  'seconds',
  'CPU s (TMs+JM)',
  'events/s',
  'events/CPU-s',
  'exchange records/s',
  'exchange MB/s',
  'local events/s (running)',
  'local exchange MB/s',
  'ratio to local',
  'outputs',
];

/** The cluster rows as table cells. */
export function clusterRows(results: readonly ClusterBenchResult[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  const mb = (x: number) => (x / 1e6).toFixed(1);
  return results.map((r) => [
    r.query,
    String(r.parallelism),
    String(r.taskManagers),
    n(r.events),
    r.seconds.toFixed(2),
    r.cpuSeconds.toFixed(2),
    n(r.eventsPerSecond),
    n(r.eventsPerCpuSecond),
    n(r.exchangeRecordsPerSecond),
    mb(r.exchangeBytesPerSecond),
    n(r.localEventsPerSecond),
    mb(r.localExchangeBytesPerSecond),
    `${Math.round(r.ratioToLocal * 100)} %`,
    r.outputs === r.localOutputs
      ? `${n(r.outputs)} (= local)`
      : `${n(r.outputs)} ≠ local ${n(r.localOutputs)}`,
  ]);
}
