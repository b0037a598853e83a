/**
 * Fault-tolerance rows of `pnpm bench`: on a JobManager and three one-slot
 * TaskManager processes (one spare slot), Nexmark q5 from a rate-limited
 * generator at parallelism 2, checkpointing every second into the
 * exactly-once file sink, with `kill -9` of a TaskManager running it several
 * times (a replacement TaskManager starts each time, so a spare slot is
 * there for the next). Per kill: the time from the kill to the job RUNNING
 * again from its checkpoint (polled every 50 ms; it includes the restart
 * strategy's delay, exponential-delay from 200 ms). Per run: the cluster's
 * checkpoint durations and size, and whether the committed output equals the
 * plain-loop reference over the same events.
 *
 *   pnpm build && pnpm --filter @freshet/bench recovery [--kills 5] [--seed 3] [--no-save]
 *
 * Writes `bench/results/fault-tolerance.{json,md}` unless `--no-save`.
 * Uses Postgres when FRESHET_TEST_DATABASE_URL is set, else the embedded PGlite.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosFault } from '@freshet/jobmanager/testing';
import { cleanRun, committedRecords, exactlyOnce, queryArgs, queryProgram } from './nexmark-runs.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '5' },
    seed: { type: 'string', default: '3' },
    events: { type: 'string', default: '150000' },
    rate: { type: 'string', default: '3000' },
    'no-save': { type: 'boolean', default: false },
  },
});
const kills = Number(values.kills);
const events = Number(values.events);
const rate = Number(values.rate);

const report = await runChaos({
  programPath: queryProgram('q5'),
  args: queryArgs(events, rate),
  parallelism: 2,
  checkpointIntervalMs: 1000,
  faults: Array<ChaosFault>(kills).fill('kill-taskmanager'),
  seed: Number(values.seed),
  taskManagers: 3,
  gapMs: [1000, 2000],
  timeoutMs: 10 * 60_000,
  log: (line) => {
    console.error(line);
  },
});

const expected = cleanRun('q5', events);
const got = committedRecords(report);
const exact = exactlyOnce(report, expected);

const recovery = report.faults.map((f) => f.recoveryMs).sort((a, b) => a - b);
const nearest = (q: number): number =>
  recovery[Math.min(recovery.length - 1, Math.max(0, Math.ceil(q * recovery.length) - 1))] ?? 0;
const row = {
  mode: 'recovery',
  query: 'q5',
  parallelism: 2,
  taskManagers: 3,
  events,
  ratePerSecond: rate,
  checkpointIntervalMs: 1000,
  kills: report.faults.length,
  recoveryMsP50: nearest(0.5),
  recoveryMsMax: recovery.at(-1) ?? 0,
  recoveryMs: report.faults.map((f) => f.recoveryMs),
  checkpointsCompleted: report.checkpoints.completed,
  checkpointsFailed: report.checkpoints.failed,
  checkpointDurationMsP50: report.checkpoints.durationMs?.p50 ?? null,
  checkpointDurationMsP99: report.checkpoints.durationMs?.p99 ?? null,
  checkpointBytesP50: report.checkpoints.bytes?.p50 ?? null,
  checkpointBytesMax: report.checkpoints.bytes?.max ?? null,
  committedRecords: got.length,
  cleanRunRecords: expected.length,
  exactlyOnce: exact,
};

const kib = (bytes: number | null): string => (bytes === null ? '-' : `${(bytes / 1024).toFixed(0)} KiB`);
const md = [
  '## Fault tolerance: kill -9 of a TaskManager to RUNNING again (cluster)',
  '',
  `${new Date().toISOString()}. Nexmark q5 at parallelism 2 on a JobManager and 3 one-slot TaskManager processes (one spare slot), ${events.toLocaleString('en-US')} events at ${rate.toLocaleString('en-US')}/s, a checkpoint every second, exactly-once file sink. Each kill: \`kill -9\` of a TaskManager running the job, a replacement started; recovery = kill to the job RUNNING again from its checkpoint (restart strategy exponential-delay from 200 ms included). Checkpoint duration: trigger to completion on the cluster (TaskManagers upload their snapshots to the JobManager over HTTP).`,
  '',
  '| query | p | TMs | kills | recovery p50 ms | recovery max ms | checkpoints | duration p50 ms | duration p99 ms | size p50 | size max | committed = clean run |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  `| q5 | 2 | 3 | ${row.kills} | ${row.recoveryMsP50} | ${row.recoveryMsMax} | ${row.checkpointsCompleted} (${row.checkpointsFailed} failed) | ${row.checkpointDurationMsP50 ?? '-'} | ${row.checkpointDurationMsP99 ?? '-'} | ${kib(row.checkpointBytesP50)} | ${kib(row.checkpointBytesMax)} | ${exact ? `yes (${got.length} records)` : `NO (${got.length} of ${expected.length})`} |`,
].join('\n');
console.log(md);
if (!values['no-save']) {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}fault-tolerance.json`, `${JSON.stringify([row], null, 2)}\n`);
  await writeFile(`${dir}fault-tolerance.md`, `${md}\n`);
}
process.exitCode = exact ? 0 : 1;
