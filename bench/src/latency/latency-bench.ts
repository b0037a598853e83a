/**
 * Latency benchmark (issue 13, goal 5): Nexmark events stamped with the wall
 * clock at the source, keyed across an exchange, counted, and the time from
 * the stamp to the sink side recorded per record (`latency-program.ts`).
 *
 * 1. Peak: the job as fast as it goes at parallelism `--parallelism` (no
 *    checkpoints), events/s over its running time.
 * 2. At 10 %, 50 % and 90 % of that peak, for `--seconds` each, without
 *    checkpoints and with a checkpoint every `--checkpoint-interval` ms:
 *    p50, p99 and p99.9 of the latency, on the local mini-cluster and (unless
 *    `--no-cluster`) on a JobManager with two one-slot TaskManager processes
 *    (the exchange crosses TCP for half of the records), whose loads are
 *    fractions of the cluster's own peak, measured the same way first.
 *
 * Writes `bench/results/latency.{json,md}` and prints the table.
 *
 * ```sh
 * pnpm --filter @freshet/bench latency -- --seconds 8
 * ```
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { uploadProgramFile } from '@freshet/jobmanager/client';
import { adminClient, ProcessGroup } from '@freshet/jobmanager/testing';
import { compileProgram, optimize, planInSandbox } from '@freshet/planner';
import { runLocalJob } from '@freshet/runtime';

const { values } = parseArgs({
  // `pnpm latency -- --seconds 8` passes the `--` on.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    parallelism: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '8' },
    'peak-events': { type: 'string', default: '3000000' },
    'checkpoint-interval': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '1000' },
    'no-cluster': { type: 'boolean', default: false },
  },
});
const parallelism = Number(values.parallelism);
const seconds = Number(values.seconds);
const interval = Number(values['checkpoint-interval']);
const warmupMs = Number(values.warmup);
const PROGRAM = join(import.meta.dirname, 'latency-program.ts');
const RESULTS = join(import.meta.dirname, '..', '..', 'results');

/** Latency percentiles (ms) of a histogram of microsecond buckets. */
function percentiles(counts: Record<string, number>): {
  p50: number;
  p99: number;
  p999: number;
  count: number;
} {
  const buckets = Object.entries(counts)
    .map(([us, n]) => [Number(us), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const count = buckets.reduce((s, [, n]) => s + n, 0);
  const at = (q: number): number => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const [us, n] of buckets) {
      seen += n;
      if (seen >= rank) return us / 1000;
    }
    return (buckets.at(-1)?.[0] ?? 0) / 1000;
  };
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), count };
}

interface Row {
  where: 'local' | 'cluster';
  load: string;
  ratePerSecond: number;
  checkpointIntervalMs: number;
  events: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

const compiled = await compileProgram({ path: PROGRAM }, { typecheck: false });
if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
const { bundlePath } = compiled;

async function local(events: number, rate: number, checkpointMs: number) {
  const args = [String(events), String(rate), String(checkpointMs), String(warmupMs)];
  const plan = await planInSandbox(bundlePath, args, { parallelism });
  const r = await runLocalJob({
    program: { bundlePath, args, parallelism },
    jobGraph: optimize(plan.graph, plan.planHash),
    slots: parallelism,
  });
  if (r.status !== 'FINISHED') throw new Error(`latency job: ${r.status} ${JSON.stringify(r.error)}`);
  return { durationMs: r.durationMs, latency: (r.accumulators.latencyUs ?? {}) as Record<string, number> };
}

const peakEvents = Number(values['peak-events']);
const peak = await local(peakEvents, 0, 0);
const peakRate = Math.round(peakEvents / (peak.durationMs / 1000));
console.error(`peak: ${peakRate.toLocaleString('en-US')} events/s at parallelism ${parallelism}`);

const loads = [0.1, 0.5, 0.9];
const rows: Row[] = [];
/** A row at `load` of `peak` (each deployment's own peak). */
const row = (
  where: Row['where'],
  peak: number,
  load: number,
  checkpointMs: number,
  events: number,
  h: Record<string, number>,
): Row => {
  const p = percentiles(h);
  const rate = Math.round(peak * load);
  const r: Row = {
    where,
    load: `${Math.round(load * 100)} %`,
    ratePerSecond: rate,
    checkpointIntervalMs: checkpointMs,
    events: p.count,
    p50Ms: p.p50,
    p99Ms: p.p99,
    p999Ms: p.p999,
  };
  // Every record after the warm-up has its latency (the warm-up takes about warmupMs of each run).
  const expected = events - (rate * warmupMs) / 1000;
  if (p.count > events || p.count < expected * 0.9)
    throw new Error(
      `${where}: ${p.count} latencies for ${events} events (${Math.round(expected)} after the warm-up)`,
    );
  console.error(JSON.stringify(r));
  return r;
};

for (const checkpointMs of [0, interval]) {
  for (const load of loads) {
    const rate = Math.round(peakRate * load);
    const events = Math.round(rate * seconds);
    rows.push(
      row('local', peakRate, load, checkpointMs, events, (await local(events, rate, checkpointMs)).latency),
    );
  }
}

let clusterPeakRate: number | undefined;
if (!values['no-cluster']) {
  const group = new ProcessGroup();
  try {
    const database = await group.createDatabase();
    const jmProcess = await group.startJobManager({ ...database });
    for (let i = 0; i < 2; i++) await group.startTaskManager({ jobManagerUrl: jmProcess.url, slots: 1 });
    const jm = adminClient(jmProcess);
    const upload = await uploadProgramFile(jm, PROGRAM);
    const runOnCluster = async (events: number, rate: number, checkpointMs: number) => {
      const { jobId } = await jm.jobs.submit.mutate({
        artifactId: upload.artifact.id,
        parallelism: 2,
        args: [String(events), String(rate), String(checkpointMs), String(warmupMs)],
      });
      const deadline = Date.now() + (seconds * 4 + 60) * 1000;
      let job = await jm.jobs.get.query({ jobId });
      while (!['FINISHED', 'FAILED', 'CANCELED'].includes(job.status)) {
        if (Date.now() > deadline) throw new Error(`cluster latency job ${jobId} did not end`);
        await new Promise((r) => setTimeout(r, 200));
        job = await jm.jobs.get.query({ jobId });
      }
      if (job.status !== 'FINISHED')
        throw new Error(`cluster latency job: ${job.status} ${job.failureCause ?? ''}`);
      return job;
    };
    // The cluster's own peak: its rows are fractions of what it sustains, not of the local mini-cluster's peak.
    const peakJob = await runOnCluster(peakEvents, 0, 0);
    const starts = peakJob.subtasks.flatMap((s) => (s.startedAt ? [Date.parse(s.startedAt)] : []));
    const ends = peakJob.subtasks.flatMap((s) => (s.endedAt ? [Date.parse(s.endedAt)] : []));
    if (starts.length === 0 || ends.length === 0)
      throw new Error('cluster peak job: no subtask start or end times');
    clusterPeakRate = Math.round(peakEvents / (Math.max(Math.max(...ends) - Math.min(...starts), 1) / 1000));
    console.error(`cluster peak: ${clusterPeakRate.toLocaleString('en-US')} events/s at parallelism 2`);
    for (const checkpointMs of [0, interval]) {
      for (const load of loads) {
        const rate = Math.round(clusterPeakRate * load);
        const events = Math.round(rate * seconds);
        const job = await runOnCluster(events, rate, checkpointMs);
        rows.push(
          row(
            'cluster',
            clusterPeakRate,
            load,
            checkpointMs,
            events,
            (job.accumulators.latencyUs ?? {}) as Record<string, number>,
          ),
        );
      }
    }
  } finally {
    await group.dispose();
  }
}

const fmt = (ms: number): string => (ms < 10 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en-US'));
const md = [
  `${new Date().toISOString()}: Nexmark (seed 42) stamped at the source → keyBy → rolling count → latency histogram, parallelism ${parallelism}; peak ${peakRate.toLocaleString('en-US')} events/s on the local mini-cluster${clusterPeakRate === undefined ? '' : ` and ${clusterPeakRate.toLocaleString('en-US')} on the cluster`} (${peakEvents.toLocaleString('en-US')} events, no checkpoints, this run; each deployment's loads are fractions of its own peak); each row about ${seconds} s at its rate, the first ${warmupMs} ms of it not counted (warm-up). Local: the mini-cluster in this process; cluster: a JobManager and two one-slot TaskManager processes. Latency: wall clock from the stamp (a map chained to the source) to the sink-side map, per record, in buckets of 0.1 ms.`,
  '',
  '| where | load | events/s | checkpoints | events | p50 ms | p99 ms | p99.9 ms |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.where} | ${r.load} | ${r.ratePerSecond.toLocaleString('en-US')} | ${r.checkpointIntervalMs > 0 ? `every ${r.checkpointIntervalMs} ms` : 'off'} | ${r.events.toLocaleString('en-US')} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.p999Ms)} |`,
  ),
  '',
].join('\n');
await mkdir(RESULTS, { recursive: true });
await writeFile(join(RESULTS, 'latency.md'), md);
await writeFile(
  join(RESULTS, 'latency.json'),
  `${JSON.stringify({ date: new Date().toISOString(), parallelism, peakRate, clusterPeakRate, rows }, null, 2)}\n`,
);
process.stdout.write(md);
