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
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { BASELINE_QUERIES, createBaseline, NexmarkGenerator, type BaselineQueryName } from '@freshet/nexmark';
import { CliError, formatTable, printJson } from '../output.js';
import { executeNexmarkQuery, findNexmarkExamplesDir, prepareNexmarkQuery } from './nexmark.js';

/** One row of the benchmark's results. */
export interface BenchResult {
  query: string;
  parallelism: number;
  events: number;
  /** Wall-clock seconds of the run. */
  seconds: number;
  /** User + system CPU seconds of the run (all threads, child processes included). */
  cpuSeconds: number;
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
  /** The hand-written baseline's events per CPU-second (single thread). */
  baselineEventsPerCpuSecond: number;
  /** eventsPerCpuSecond / baselineEventsPerCpuSecond. */
  ratioToBaseline: number;
}

/** The queries benchmarked by default. */
export const DEFAULT_BENCH_QUERIES = ['q0', 'q1', 'q2', 'q3', 'q5', 'q7', 'q8'];

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

/** Options of {@link runBench}. */
export interface BenchOptions {
  events: number;
  queries: string[];
  parallelisms: number[];
  /** Progress lines go here. */
  log?: (line: string) => void;
}

/** Runs the benchmark; one result per query and parallelism. */
export async function runBench(opts: BenchOptions): Promise<BenchResult[]> {
  const log = opts.log ?? (() => {});
  const results: BenchResult[] = [];
  for (const query of opts.queries) {
    if (!(BASELINE_QUERIES as readonly string[]).includes(query))
      throw new CliError(`No benchmark for '${query}': choose among ${BASELINE_QUERIES.join(', ')}`);
    const base = runBaseline(query as BaselineQueryName, opts.events);
    const baselineRate = opts.events / base.cpuSeconds;
    log(
      `${query} baseline: ${Math.round(baselineRate).toLocaleString('en-US')} events/CPU-s (${base.outputs} results)`,
    );
    for (const parallelism of opts.parallelisms) {
      const prepared = await prepareNexmarkQuery({
        query,
        events: opts.events,
        seed: SEED,
        parallelism,
        mode: 'streaming',
        discard: true,
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
      if (produced !== undefined && produced !== opts.events) {
        throw new CliError(
          `${query} at parallelism ${parallelism}: the sources emitted ${produced} events, expected ${opts.events}`,
        );
      }
      const row: BenchResult = {
        query,
        parallelism,
        events: opts.events,
        seconds: round(seconds, 3),
        cpuSeconds: round(cpuSeconds, 3),
        eventsPerSecond: Math.round(opts.events / seconds),
        eventsPerCpuSecond: Math.round(opts.events / cpuSeconds),
        baselineEventsPerCpuSecond: Math.round(baselineRate),
        ratioToBaseline: round(opts.events / cpuSeconds / baselineRate, 3),
      };
      results.push(row);
      log(
        `${query} p=${parallelism}: ${row.eventsPerSecond.toLocaleString('en-US')} events/s, ${row.eventsPerCpuSecond.toLocaleString('en-US')} events/CPU-s`,
      );
    }
  }
  return results;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const HEADERS = [
  'query',
  'p',
  'events',
  'seconds',
  'CPU s',
  'events/s',
  'events/CPU-s',
  'baseline events/CPU-s',
  'ratio',
];

function rows(results: readonly BenchResult[]): string[][] {
  const n = (x: number) => x.toLocaleString('en-US');
  return results.map((r) => [
    r.query,
    String(r.parallelism),
    n(r.events),
    r.seconds.toFixed(2),
    r.cpuSeconds.toFixed(2),
    n(r.eventsPerSecond),
    n(r.eventsPerCpuSecond),
    n(r.baselineEventsPerCpuSecond),
    r.ratioToBaseline.toFixed(2),
  ]);
}

/** Renders the results as a markdown table. */
export function benchMarkdown(results: readonly BenchResult[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(HEADERS), line(HEADERS.map(() => '---')), ...rows(results).map(line)].join('\n');
}

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
    .option('--json', 'print the results as JSON')
    .option('--no-save', 'do not write bench/results/latest.{json,md}')
    .action(
      async (o: { events: string; queries: string; parallelism: string; json?: boolean; save: boolean }) => {
        const events = Number(o.events);
        if (!Number.isInteger(events) || events < 1)
          throw new CliError(`--events expects a positive integer (got '${o.events}')`);
        const parallelisms = list(o.parallelism).map(Number);
        if (parallelisms.some((p) => !Number.isInteger(p) || p < 1))
          throw new CliError(`--parallelism expects positive integers (got '${o.parallelism}')`);
        const results = await runBench({
          events,
          queries: list(o.queries),
          parallelisms,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        if (o.json) printJson(results);
        else process.stdout.write(`${formatTable(HEADERS, rows(results))}\n`);
        if (o.save) {
          const dir = join(dirname(dirname(findNexmarkExamplesDir())), 'bench', 'results');
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
          const header = `# Freshet Nexmark benchmark\n\n${new Date().toISOString()}, ${events.toLocaleString('en-US')} events per run, generator source, streaming mode, discard sink. CPU = user + system of the whole process (worker threads included).\n\n`;
          await writeFile(join(dir, 'latest.md'), `${header}${benchMarkdown(results)}\n`);
        }
      },
    );
}
