/**
 * The start-up rows of `freshet bench`: what a job costs before and after
 * its events, at each parallelism. Every local row's CPU includes starting
 * its worker threads (one per slot: a V8 isolate, Node's bootstrap, the
 * runtime's modules), deploying and stopping them; at parallelism 2 that is
 * twice the parallelism-1 cost, which shows as a lower events per
 * CPU-second on a short run although the running job loses nothing. A q0
 * run over a few events is almost only that fixed cost: the median of three
 * such runs per parallelism is subtracted from every local row at that
 * parallelism to give its steady rate.
 */
import { round } from './bench-cluster.js';

/** Events of a start-up run: few enough that the fixed cost is nearly all of its CPU. */
export const STARTUP_EVENTS = 10_000;

/** Start-up runs per parallelism (their median is taken). */
export const STARTUP_RUNS = 3;

/** The fixed cost of a job at one parallelism. */
export interface StartupBenchResult {
  mode: 'startup';
  query: 'q0';
  parallelism: number;
  events: number;
  runs: number;
  /** Median CPU seconds of the runs: worker threads started and stopped, deployment, and the few events. */
  cpuSeconds: number;
  /** Median wall-clock seconds of the runs. */
  seconds: number;
}

/** What a start-up run reports (the bench's local run). */
type LocalRun = (
  query: string,
  parallelism: number,
  events: number,
) => Promise<{ seconds: number; cpuSeconds: number }>;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Measures the start-up row at `parallelism`: {@link STARTUP_RUNS} runs of q0 over {@link STARTUP_EVENTS} events. */
export async function measureStartup(runLocal: LocalRun, parallelism: number): Promise<StartupBenchResult> {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const r = await runLocal('q0', parallelism, STARTUP_EVENTS);
    cpu.push(r.cpuSeconds);
    wall.push(r.seconds);
  }
  return {
    mode: 'startup',
    query: 'q0',
    parallelism,
    events: STARTUP_EVENTS,
    runs: STARTUP_RUNS,
    cpuSeconds: round(median(cpu), 3),
    seconds: round(median(wall), 3),
  };
}

/** Column headers of the start-up rows. */
export const STARTUP_HEADERS = [
  'query',
  'p',
  'events/CPU-s',
  'start-up CPU s',
  'steady events/CPU-s',
  '÷ p=1',
  'steady ÷ p=1',
];

export const STARTUP_NOTE = `Start-up CPU: the median of ${STARTUP_RUNS} runs of q0 over ${STARTUP_EVENTS.toLocaleString('en-US')} events at that parallelism in the same bench run (worker threads started and stopped, deployment, the few events). Steady events/CPU-s: the local row's events over its CPU seconds minus that start-up CPU. ÷ p=1: the row's rate over the same query's at parallelism 1, whole and steady.`;

interface LocalRow {
  mode: string;
  query: string;
  parallelism: number;
  events: number;
  cpuSeconds: number;
}

/** Whether `r` is a local or start-up row (the rows this table reads). */
const isTimedRow = (r: { mode: string }): r is LocalRow => r.mode === 'local' || r.mode === 'startup';

/** Start-up CPU seconds by parallelism, from the start-up rows among `rows`. */
function startupCpu(rows: readonly LocalRow[]): Map<number, number> {
  const startup = new Map<number, number>();
  for (const r of rows) if (r.mode === 'startup') startup.set(r.parallelism, r.cpuSeconds);
  return startup;
}

/** Key of a local row in {@link steadyRates}. */
export const steadyKey = (query: string, parallelism: number): string => `${query}@${parallelism}`;

/**
 * The steady rate of every local row that has a start-up row at its
 * parallelism: its events over its CPU minus that start-up CPU, keyed by
 * {@link steadyKey}. A row whose CPU is not above the start-up CPU has none.
 */
export function steadyRates(results: readonly { mode: string }[]): Map<string, number> {
  const rows = results.filter(isTimedRow);
  const startup = startupCpu(rows);
  const out = new Map<string, number>();
  for (const r of rows) {
    const s = startup.get(r.parallelism);
    if (r.mode !== 'local' || s === undefined || r.cpuSeconds <= s) continue;
    out.set(steadyKey(r.query, r.parallelism), r.events / (r.cpuSeconds - s));
  }
  return out;
}

/** Every local row with the start-up CPU of its parallelism, as table cells (none without start-up rows). */
export function startupRows(results: readonly { mode: string }[]): string[][] {
  const rows = results.filter(isTimedRow);
  const startup = startupCpu(rows);
  const steady = steadyRates(results);
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const local = rows.filter((r) => r.mode === 'local' && startup.has(r.parallelism));
  return local.map((r) => {
    const whole = r.events / r.cpuSeconds;
    const s = steady.get(steadyKey(r.query, r.parallelism));
    const p1 =
      r.parallelism === 1 ? undefined : local.find((x) => x.query === r.query && x.parallelism === 1);
    const p1Steady = p1 === undefined ? undefined : steady.get(steadyKey(p1.query, 1));
    return [
      r.query,
      String(r.parallelism),
      n(whole),
      startup.get(r.parallelism)!.toFixed(3),
      s === undefined ? '—' : n(s),
      p1 === undefined ? '—' : (whole / (p1.events / p1.cpuSeconds)).toFixed(2),
      s === undefined || p1Steady === undefined ? '—' : (s / p1Steady).toFixed(2),
    ];
  });
}
