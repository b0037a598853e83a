/**
 * Apache Flink beside `freshet bench`: the peer harness (`../shared/peer-flink`
 * on the team's machines: Flink 2.3's DataStream API in a local MiniCluster,
 * the same Nexmark queries operator for operator, a Java port of
 * `@freshet/nexmark`'s generator producing the same events) run after
 * Freshet's rows in the same bench run (`--flink <dir>`), or its results read
 * from a directory it wrote earlier (`--flink-results <dir>`), and set side by
 * side with Freshet's local rows: events per CPU-second of both, their ratio,
 * and whether both sinks received the same number of records.
 *
 * Flink's CPU is the whole JVM over `env.execute()` (job graph, MiniCluster
 * start, deployment, run, shutdown), the analogue of Freshet's local rows
 * (workers started and stopped inside the measured span); the harness also
 * reports the job's running window alone (first event generated to the last
 * sink at end of input), which the table shows as a second, stricter ratio.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CliError } from '../output.js';
import { round } from './bench-cluster.js';

/** The queries the peer harness implements. */
export const FLINK_QUERIES = ['q0', 'q1', 'q2', 'q3', 'q5', 'q7', 'q8'] as const;

/** Warm-up events of every peer JVM before its timed job (the harness's default). */
const FLINK_WARMUP_EVENTS = 2_000_000;

/** One timed run of the peer, as its `latest-details.json` reports it. */
const FlinkDetailSchema = z.object({
  engine: z.literal('flink'),
  flinkVersion: z.string(),
  kind: z.enum(['warmup', 'timed']),
  query: z.string(),
  parallelism: z.number().int().positive(),
  events: z.number().int().positive(),
  seconds: z.number().nonnegative(),
  cpuSeconds: z.number().positive(),
  eventsPerCpuSecond: z.number().nonnegative(),
  outputs: z.number().int().nonnegative(),
  gcSeconds: z.number().nonnegative(),
  jobSeconds: z.number().nonnegative(),
  jobCpuSeconds: z.number().positive(),
  jobEventsPerCpuSecond: z.number().nonnegative(),
  otherProcessesCpuSeconds: z.number(),
});
type FlinkDetail = z.infer<typeof FlinkDetailSchema>;

/** A Flink peer row next to Freshet's local row of the same query and parallelism. */
export interface FlinkPeerResult {
  mode: 'flink';
  query: string;
  parallelism: number;
  events: number;
  flinkVersion: string;
  /** Flink: wall-clock seconds of `env.execute()`. */
  seconds: number;
  /** Flink: CPU seconds of the whole JVM over `env.execute()`. */
  cpuSeconds: number;
  eventsPerCpuSecond: number;
  /** Flink: the job's running window alone (first event generated to the last sink at end of input). */
  jobCpuSeconds: number;
  jobEventsPerCpuSecond: number;
  gcSeconds: number;
  /** CPU the rest of the machine used during the Flink run (to show it had the machine to itself). */
  otherProcessesCpuSeconds: number;
  /** Records Flink's sink received. */
  outputs: number;
  /** Freshet's local row of the same query and parallelism in this bench run. */
  freshetEventsPerCpuSecond: number;
  /** Records Freshet's sink received. */
  freshetOutputs: number;
  /** freshetEventsPerCpuSecond / eventsPerCpuSecond (target: >= 1). */
  ratio: number;
  /** freshetEventsPerCpuSecond / jobEventsPerCpuSecond: against Flink's running window alone. */
  jobRatio: number;
  /** Freshet's steady rate (start-up CPU taken out), null without start-up rows. */
  freshetSteadyEventsPerCpuSecond: number | null;
  /** freshetSteadyEventsPerCpuSecond / jobEventsPerCpuSecond: both engines' running jobs, start-up excluded on both sides. */
  steadyJobRatio: number | null;
}

/** Where the peer's results are: a harness to run now, or a directory it wrote. */
export type FlinkPeerSource = { run: string } | { results: string };

/** What the peer rows are joined with: Freshet's local rows of this run. */
export interface FreshetLocalRow {
  query: string;
  parallelism: number;
  eventsPerCpuSecond: number;
  /** The row's rate with its parallelism's start-up CPU taken out (bench-startup.ts), when measured. */
  steadyEventsPerCpuSecond?: number;
  outputs: number;
}

/** Parses the harness's `latest-details.json`: its timed runs. */
export function parseFlinkDetails(text: string, source: string): FlinkDetail[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(FlinkDetailSchema).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(
      `${source} is not the Flink peer's results: at ${issue.path.join('.') || 'the top'}: ${issue.message}`,
    );
  }
  return parsed.data.filter((d) => d.kind === 'timed');
}

/**
 * Runs the peer harness (`<dir>/run.sh EVENTS QUERIES PARALLELISMS WARMUP SEED`)
 * into a temporary results directory and returns its timed runs. Its output
 * goes to `log` line by line; a failing harness fails the bench with its last lines.
 */
async function runFlinkPeer(
  dir: string,
  events: number,
  queries: readonly string[],
  parallelisms: readonly number[],
  seed: number,
  log: (line: string) => void,
): Promise<FlinkDetail[]> {
  // Absolute: the harness runs in its own directory, where a relative path (`../shared/peer-flink`) means something else.
  const script = join(resolve(dir), 'run.sh');
  if (!existsSync(script)) throw new CliError(`--flink: ${script} does not exist`);
  const out = await mkdtemp(join(tmpdir(), 'freshet-flink-peer-'));
  try {
    const args = [
      script,
      String(events),
      queries.join(','),
      parallelisms.join(','),
      String(Math.min(events, FLINK_WARMUP_EVENTS)),
      String(seed),
    ];
    log(`running the Flink peer: ${args.join(' ')}`);
    const tail: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', args, {
        cwd: dir,
        env: { ...process.env, OUT_DIR: out },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Chunks end anywhere: a line is complete at its newline.
      const partial = { stdout: '', stderr: '' };
      const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
        const lines = (partial[stream] + chunk.toString('utf8')).split('\n');
        partial[stream] = lines.pop()!;
        for (const line of lines) {
          if (line.trim() === '') continue;
          tail.push(line);
          if (tail.length > 20) tail.shift();
          // The harness's own progress lines; Flink's log4j warnings are noise here.
          if (/^\s*(==|timed|warmup)/.test(line)) log(`flink: ${line.trim()}`);
        }
      };
      child.stdout.on('data', onData('stdout'));
      child.stderr.on('data', onData('stderr'));
      child.on('error', reject);
      child.on('close', resolve);
      const stop = () => child.kill('SIGTERM');
      process.once('exit', stop);
      child.on('close', () => process.off('exit', stop));
    });
    if (code !== 0) throw new CliError(`the Flink peer (${script}) exited with ${code}:\n${tail.join('\n')}`);
    return await readFlinkResults(out);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Reads the timed runs from a results directory the harness wrote (`latest-details.json`). */
async function readFlinkResults(dir: string): Promise<FlinkDetail[]> {
  const file = join(dir, 'latest-details.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`no Flink peer results at ${file}`);
  }
  return parseFlinkDetails(text, file);
}

/**
 * Joins the peer's timed runs with Freshet's local rows: one row per
 * (query, parallelism) both measured. A peer run over another number of
 * events than the bench's, or a missing peer run, is an error naming it.
 */
export function joinFlinkRows(
  details: readonly FlinkDetail[],
  freshet: readonly FreshetLocalRow[],
  events: number,
): FlinkPeerResult[] {
  const rows: FlinkPeerResult[] = [];
  for (const f of freshet) {
    if (!(FLINK_QUERIES as readonly string[]).includes(f.query)) continue;
    const d = details.find((x) => x.query === f.query && x.parallelism === f.parallelism);
    if (d === undefined)
      throw new CliError(
        `the Flink peer's results have no timed run of ${f.query} at parallelism ${f.parallelism}`,
      );
    if (d.events !== events)
      throw new CliError(
        `the Flink peer ran ${f.query} p=${f.parallelism} over ${d.events} events, the bench over ${events}: compare equal counts`,
      );
    rows.push({
      mode: 'flink',
      query: f.query,
      parallelism: f.parallelism,
      events,
      flinkVersion: d.flinkVersion,
      seconds: d.seconds,
      cpuSeconds: d.cpuSeconds,
      eventsPerCpuSecond: Math.round(d.events / d.cpuSeconds),
      jobCpuSeconds: d.jobCpuSeconds,
      jobEventsPerCpuSecond: Math.round(d.events / d.jobCpuSeconds),
      gcSeconds: d.gcSeconds,
      otherProcessesCpuSeconds: d.otherProcessesCpuSeconds,
      outputs: d.outputs,
      freshetEventsPerCpuSecond: f.eventsPerCpuSecond,
      freshetOutputs: f.outputs,
      ratio: round((f.eventsPerCpuSecond * d.cpuSeconds) / d.events, 3),
      jobRatio: round((f.eventsPerCpuSecond * d.jobCpuSeconds) / d.events, 3),
      freshetSteadyEventsPerCpuSecond:
        f.steadyEventsPerCpuSecond === undefined ? null : Math.round(f.steadyEventsPerCpuSecond),
      steadyJobRatio:
        f.steadyEventsPerCpuSecond === undefined
          ? null
          : round((f.steadyEventsPerCpuSecond * d.jobCpuSeconds) / d.events, 3),
    });
  }
  return rows;
}

/**
 * The peer's rows for Freshet's local rows of this run: runs the harness (or
 * reads its results) for the queries and parallelisms those rows cover.
 */
export async function flinkPeerRows(
  source: FlinkPeerSource,
  freshet: readonly FreshetLocalRow[],
  events: number,
  seed: number,
  log: (line: string) => void,
): Promise<FlinkPeerResult[]> {
  const covered = freshet.filter((f) => (FLINK_QUERIES as readonly string[]).includes(f.query));
  if (covered.length === 0) return [];
  const queries = [...new Set(covered.map((f) => f.query))];
  const parallelisms = [...new Set(covered.map((f) => f.parallelism))].sort((a, b) => a - b);
  const details =
    'run' in source
      ? await runFlinkPeer(source.run, events, queries, parallelisms, seed, log)
      : await readFlinkResults(source.results);
  return joinFlinkRows(details, covered, events);
}

/** Column headers of the Flink rows. */
export const FLINK_HEADERS = [
  'query',
  'p',
  'Freshet events/CPU-s',
  'Flink events/CPU-s',
  'Freshet / Flink',
  'Flink job-window events/CPU-s',
  'Freshet / Flink job window',
  'Freshet steady / Flink job window',
  'Flink GC s',
  'outputs (Freshet, Flink)',
];

/** The Flink rows as table cells; differing output counts are marked. */
export function flinkRows(rows: readonly FlinkPeerResult[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  return rows.map((r) => [
    r.query,
    String(r.parallelism),
    n(r.freshetEventsPerCpuSecond),
    n(r.eventsPerCpuSecond),
    r.ratio.toFixed(2),
    n(r.jobEventsPerCpuSecond),
    r.jobRatio.toFixed(2),
    r.steadyJobRatio === null ? '—' : r.steadyJobRatio.toFixed(2),
    r.gcSeconds.toFixed(2),
    r.outputs === r.freshetOutputs ? `${n(r.outputs)} (equal)` : `${n(r.freshetOutputs)} ≠ ${n(r.outputs)}`,
  ]);
}

/** The note above the Flink table. */
export const FLINK_NOTE =
  "Apache Flink's DataStream API in a local MiniCluster (heap state, checkpoints off, object reuse on, a discard sink that counts) on the same events (a Java port of the generator, byte-identical for the seed), run after Freshet's rows in the same bench run. Flink CPU: the whole JVM over `env.execute()` (MiniCluster start, deployment, run, shutdown; after a warm-up job in the same JVM), as Freshet's rows count worker start-up; job window: from the first event generated to the last sink at end of input. Freshet steady: Freshet's rate with the start-up CPU of its parallelism taken out (the start-up table), so that neither side counts starting its job. Outputs: records each engine's sink received.";
