/**
 * `freshet nexmark generate` writes generated Nexmark events as JSON lines;
 * `freshet nexmark run QUERY` compiles the example query program, plans it,
 * optimizes it and runs it on the local mini-cluster, or (with
 * `--jobmanager URL`) uploads it to a JobManager, submits it with the same
 * arguments, parallelism and mode, and follows the job until it ends.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { PlanOverrides, RuntimeMode, StateBackendKind } from '@freshet/graph';
import { writeEventsJsonLines } from '@freshet/nexmark';
import { compileProgram, optimize, planInSandbox } from '@freshet/planner';
import { runLocalJob, type LocalCheckpointStats } from '@freshet/runtime';
import type { JobManagerClient } from '@freshet/jobmanager/client';
import { CliError } from '../output.js';
import { call, connect, withCredentialOptions, type ConnectionOptions } from './jobs.js';
import {
  faultToleranceFlagsOf,
  faultToleranceOverrides,
  withCheckpointDirOption,
  withFaultToleranceOptions,
  type FaultToleranceFlags,
} from './fault-tolerance.js';

/** The Nexmark queries with an example program. */
export const NEXMARK_QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8'] as const;

/** Queries whose result is updating: the key field whose last value is the final one. */
const UPDATING_KEY: Partial<Record<string, string>> = { q4: 'id' };

/** Finds `examples/nexmark` by walking up from this module (works from `src/` and `dist/`) or the working directory. */
export function findNexmarkExamplesDir(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, 'examples', 'nexmark');
      if (existsSync(join(candidate, 'q0.ts'))) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new CliError(
    'Cannot find examples/nexmark (run from the Freshet repository, or pass --program FILE)',
  );
}

/** Options of {@link runNexmarkQuery}. */
export interface NexmarkRunOptions extends FaultToleranceFlags {
  /** q0, q1, q2, q3, q4, q5, q7 or q8. */
  query: string;
  /** The program file; defaults to `examples/nexmark/<query>.ts`. */
  program?: string;
  /** JSON-lines events file; otherwise the generator with `events` and `seed`. */
  eventsFile?: string;
  events?: number;
  seed?: number;
  /** Output file (JSON lines); collected in memory when absent. */
  output?: string;
  parallelism?: number;
  mode?: 'batch' | 'streaming';
  /** Worker-thread slots of the local mini-cluster. @default parallelism */
  slots?: number;
  /** Type-check the program before running it. @default false (the examples are type-checked with the repository) */
  typecheck?: boolean;
  /** The state backend. @default the program's (heap) */
  stateBackend?: StateBackendKind;
}

/** Outcome of {@link runNexmarkQuery}. */
export interface NexmarkRunResult {
  status: string;
  durationMs: number;
  /** Records collected under `result` (when no output file was given). */
  records: unknown[];
  error?: unknown;
  metrics: unknown;
  /** Every checkpoint that completed. */
  checkpoints: LocalCheckpointStats[];
  restarts: number;
}

/** Keeps the last record per `key` (the final value of an updating result), in key order. */
export function finalPerKey(records: readonly unknown[], key: string): unknown[] {
  const last = new Map<unknown, unknown>();
  for (const r of records) last.set((r as Record<string, unknown>)[key], r);
  return [...last.entries()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)).map(([, r]) => r);
}

/** A query compiled, planned and optimized, ready to run (possibly several times). */
export interface PreparedNexmarkQuery {
  query: string;
  bundlePath: string;
  args: string[];
  parallelism: number;
  runtimeMode: RuntimeMode;
  jobGraph: ReturnType<typeof optimize>;
  slots: number;
  /** Every plan override the query was planned with (the workers re-plan with the same). */
  overrides: PlanOverrides;
  /** Where a local run keeps its checkpoints (a temporary directory when absent). */
  checkpointDir?: string;
}

/** The program file of a query (`--program`, else `examples/nexmark/<query>.ts`). */
export function nexmarkProgramPath(opts: Pick<NexmarkRunOptions, 'query' | 'program'>): string {
  if (!(NEXMARK_QUERIES as readonly string[]).includes(opts.query) && !opts.program) {
    throw new CliError(`Unknown Nexmark query '${opts.query}': choose one of ${NEXMARK_QUERIES.join(', ')}`);
  }
  return opts.program ?? join(findNexmarkExamplesDir(), `${opts.query}.ts`);
}

/** The program arguments of a query run (paths made absolute: they are read and written where the subtasks run). */
export function nexmarkProgramArgs(opts: NexmarkRunOptions & { discard?: boolean }): string[] {
  const args: string[] = [];
  if (opts.eventsFile !== undefined) args.push('--events-file', resolve(opts.eventsFile));
  else if (opts.events !== undefined)
    args.push('--events', String(opts.events), '--seed', String(opts.seed ?? 42));
  else throw new CliError('Give the input: --events-file FILE or --events N --seed S');
  if (opts.output !== undefined) args.push('--output', resolve(opts.output));
  else if (opts.discard) args.push('--discard');
  return args;
}

/** Compiles, plans and optimizes a Nexmark query (everything but running it). */
export async function prepareNexmarkQuery(
  opts: NexmarkRunOptions & { discard?: boolean },
): Promise<PreparedNexmarkQuery> {
  const program = nexmarkProgramPath(opts);
  const compiled = await compileProgram({ path: program }, { typecheck: opts.typecheck ?? false });
  if (!compiled.ok) {
    const first = compiled.errors[0];
    throw new CliError(`${compiled.file}: does not compile${first ? `: ${JSON.stringify(first)}` : ''}`);
  }
  const args = nexmarkProgramArgs(opts);
  const runtimeMode: RuntimeMode = opts.mode === 'streaming' ? 'STREAMING' : 'BATCH';
  const parallelism = opts.parallelism ?? 1;
  const overrides: PlanOverrides = {
    ...faultToleranceOverrides(opts),
    parallelism,
    runtimeMode,
    ...(opts.stateBackend !== undefined ? { stateBackend: opts.stateBackend } : {}),
  };
  const plan = await planInSandbox(compiled.bundlePath, args, overrides);
  const jobGraph = optimize(plan.graph, plan.planHash);
  return {
    query: opts.query,
    bundlePath: compiled.bundlePath,
    args,
    parallelism,
    runtimeMode,
    jobGraph,
    slots: opts.slots ?? parallelism,
    overrides,
    ...(opts.checkpointDir !== undefined ? { checkpointDir: opts.checkpointDir } : {}),
  };
}

/** Runs a prepared query on the local mini-cluster. */
export async function executeNexmarkQuery(
  prepared: PreparedNexmarkQuery,
  output?: string,
): Promise<NexmarkRunResult> {
  const { bundlePath, args, overrides, jobGraph, slots } = prepared;
  const result = await runLocalJob({
    program: { bundlePath, args, ...overrides },
    jobGraph,
    slots,
    ...(prepared.checkpointDir !== undefined ? { checkpointDir: prepared.checkpointDir } : {}),
    onRestart: (r) => {
      process.stderr.write(
        `${prepared.query}: attempt ${r.attempt - 1} failed (${r.error.message}); restarting in ${r.delayMs} ms ` +
          `${r.checkpointId === undefined ? 'from the start' : `from checkpoint ${r.checkpointId}`}\n`,
      );
    },
  });
  const updatingKey = UPDATING_KEY[prepared.query];
  let records = result.collected.result ?? [];
  if (output !== undefined && result.status === 'FINISHED') await finishOutput(prepared.query, output);
  if (updatingKey !== undefined) records = finalPerKey(records, updatingKey);
  return {
    status: result.status,
    durationMs: result.durationMs,
    records,
    error: result.error,
    metrics: result.metrics,
    checkpoints: result.checkpoints,
    restarts: result.restarts,
  };
}

/**
 * Turns what the job's file sink wrote into the command's output file, as
 * the user named it: the exactly-once sink writes a directory of committed
 * part files `part-<subtask>-<counter>.jsonl` (in-progress files are
 * hidden and skipped), concatenated here in subtask and counter order into
 * one file at the same path; an updating query (q4) keeps only the final
 * value per key.
 */
export async function finishOutput(query: string, output: string): Promise<void> {
  const info = await stat(output).catch(() => undefined);
  if (info === undefined) throw new CliError(`The job finished but wrote no ${output}`);
  let text: string;
  if (info.isDirectory()) {
    const parts = (await readdir(output))
      .map((f) => ({ f, m: /^part-(\d+)-(\d+)\.jsonl$/.exec(f) }))
      .filter((p): p is { f: string; m: RegExpExecArray } => p.m !== null)
      .sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || Number(a.m[2]) - Number(b.m[2]));
    const texts = await Promise.all(parts.map((p) => readFile(join(output, p.f), 'utf8')));
    text = texts.map((t) => (t.length > 0 && !t.endsWith('\n') ? `${t}\n` : t)).join('');
    await rm(output, { recursive: true, force: true });
    await writeFile(output, text);
  }
  const updatingKey = UPDATING_KEY[query];
  if (updatingKey === undefined) return;
  text = await readFile(output, 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const final = finalPerKey(
    lines.map((l) => JSON.parse(l) as unknown),
    updatingKey,
  );
  await writeFile(output, final.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

// What the bundler puts first for CommonJS dependencies; the JobManager compiles the upload again and adds its own.
const REQUIRE_BANNER =
  "import { createRequire as __freshetCreateRequire } from 'node:module';\nconst require = __freshetCreateRequire(import.meta.url);\n";

/**
 * Compiles a query program here (no type check: the examples are checked
 * with the repository) and uploads its bundle (one file the JobManager can
 * compile alone). Returns the artifact id.
 */
export async function uploadNexmarkProgram(
  client: JobManagerClient,
  url: string,
  program: string,
): Promise<string> {
  const compiled = await compileProgram({ path: program }, { typecheck: false });
  if (!compiled.ok) {
    const first = compiled.errors[0];
    throw new CliError(`${compiled.file}: does not compile${first ? `: ${JSON.stringify(first)}` : ''}`);
  }
  let code = await readFile(compiled.bundlePath, 'utf8');
  if (code.startsWith(REQUIRE_BANNER)) code = code.slice(REQUIRE_BANNER.length);
  const form = new FormData();
  form.append('file', new Blob([code]), `${basename(program, extname(program))}.mjs`);
  const uploaded = await call(url, () => client.artifacts.upload.mutate(form));
  return uploaded.artifact.id;
}

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** How a query ended on a cluster. */
export interface NexmarkClusterRunResult {
  jobId: string;
  status: string;
  failureCause: string | null;
  /** The job's duration as the JobManager recorded it (RUNNING to the end). */
  durationMs: number;
}

/**
 * Runs a query on a JobManager's cluster: upload, submit with the same
 * arguments, parallelism and mode as the local run, poll until the job ends,
 * then finish the output file as the local path does.
 */
export async function runNexmarkOnCluster(
  opts: NexmarkRunOptions & ConnectionOptions & { discard?: boolean; pollMs?: number },
): Promise<NexmarkClusterRunResult> {
  const url = opts.jobmanager;
  const client = await connect(opts);
  const args = nexmarkProgramArgs(opts);
  const artifactId = await uploadNexmarkProgram(client, url, nexmarkProgramPath(opts));
  const { jobId } = await call(url, () =>
    client.jobs.submit.mutate({
      artifactId,
      args,
      parallelism: opts.parallelism ?? 1,
      runtimeMode: opts.mode === 'streaming' ? 'STREAMING' : 'BATCH',
      ...faultToleranceOverrides(opts),
      name: `nexmark ${opts.query}`,
    }),
  );
  for (;;) {
    const job = await call(url, () => client.jobs.get.query({ jobId }));
    if (TERMINAL.has(job.status)) {
      if (job.status === 'FINISHED' && opts.output !== undefined)
        await finishOutput(opts.query, resolve(opts.output));
      return { jobId, status: job.status, failureCause: job.failureCause, durationMs: job.durationMs };
    }
    await sleep(opts.pollMs ?? 200);
  }
}

/** Compiles, plans, optimizes and runs a Nexmark query locally; for an updating query (q4) the output file keeps the final value per key. */
export async function runNexmarkQuery(opts: NexmarkRunOptions): Promise<NexmarkRunResult> {
  return executeNexmarkQuery(await prepareNexmarkQuery(opts), opts.output);
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new CliError(`${name} expects a non-negative integer (got '${v}')`);
    return n;
  };
}

/** Registers `freshet nexmark generate|run`. */
export function register(program: Command): void {
  const nexmark = program
    .command('nexmark')
    .description('The Nexmark benchmark: generate events, run the queries');

  nexmark
    .command('generate')
    .description(
      'Write generated Nexmark events as JSON lines ({"event_type":0|1|2,"person"|"auction"|"bid":{…}})',
    )
    .requiredOption('--events <n>', 'number of events', positiveInt('--events'))
    .option('--seed <s>', 'generator seed', positiveInt('--seed'), 42)
    .requiredOption('--out <file>', 'output file')
    .action(async (o: { events: number; seed: number; out: string }) => {
      const started = performance.now();
      await writeEventsJsonLines(o.out, o.events, { seed: o.seed });
      const s = (performance.now() - started) / 1000;
      process.stderr.write(`wrote ${o.events} events to ${o.out} in ${s.toFixed(2)} s\n`);
    });

  const run = withCredentialOptions(nexmark.command('run <query>'), 'with --jobmanager: ').description(
    `Run a Nexmark query (${NEXMARK_QUERIES.join(', ')}) on the local mini-cluster or (--jobmanager) a cluster`,
  );
  withCheckpointDirOption(withFaultToleranceOptions(run))
    .option('--events-file <file>', 'read events from this JSON-lines file')
    .option('--events <n>', 'generate this many events (with --seed)', positiveInt('--events'))
    .option('--seed <s>', 'generator seed', positiveInt('--seed'), 42)
    .requiredOption('--output <file>', 'write the result here as JSON lines')
    .option('--parallelism <p>', 'parallelism', positiveInt('--parallelism'), 1)
    .option('--mode <mode>', 'batch or streaming', 'batch')
    .option('--program <file>', 'run this program instead of examples/nexmark/<query>.ts')
    .option(
      '--jobmanager <url>',
      "run on this JobManager's cluster instead of the local mini-cluster (the TaskManagers write --output on their hosts)",
    )
    .action(
      async (
        query: string,
        o: {
          eventsFile?: string;
          events?: number;
          seed: number;
          output: string;
          parallelism: number;
          mode: string;
          program?: string;
          jobmanager?: string;
          token?: string;
          jobmanagerCa?: string;
        } & FaultToleranceFlags,
      ) => {
        if (o.mode !== 'batch' && o.mode !== 'streaming')
          throw new CliError(`--mode must be batch or streaming (got '${o.mode}')`);
        if ((o.eventsFile === undefined) === (o.events === undefined))
          throw new CliError('Give exactly one input: --events-file FILE or --events N');
        const opts: NexmarkRunOptions = {
          query,
          output: o.output,
          parallelism: o.parallelism,
          mode: o.mode,
          seed: o.seed,
        };
        if (o.eventsFile !== undefined) opts.eventsFile = o.eventsFile;
        if (o.events !== undefined) opts.events = o.events;
        if (o.program !== undefined) opts.program = o.program;
        Object.assign(opts, faultToleranceFlagsOf(o));
        if (o.jobmanager !== undefined) {
          const run = await runNexmarkOnCluster({
            ...opts,
            jobmanager: o.jobmanager,
            token: o.token,
            jobmanagerCa: o.jobmanagerCa,
          });
          if (run.status !== 'FINISHED') {
            throw new CliError(
              `${query} (job ${run.jobId}) ended ${run.status}${run.failureCause ? `: ${run.failureCause}` : ''}`,
            );
          }
          process.stderr.write(
            `${query} ${o.mode} p=${o.parallelism} on ${o.jobmanager}: job ${run.jobId} FINISHED in ${(run.durationMs / 1000).toFixed(2)} s, result in ${o.output}\n`,
          );
          return;
        }
        const result = await runNexmarkQuery(opts);
        if (result.status !== 'FINISHED') {
          const err = result.error as { message?: string } | undefined;
          throw new CliError(`${query} ended ${result.status}${err?.message ? `: ${err.message}` : ''}`);
        }
        process.stderr.write(
          `${query} ${o.mode} p=${o.parallelism}: FINISHED in ${(result.durationMs / 1000).toFixed(2)} s, result in ${o.output}\n`,
        );
      },
    );
}
