/**
 * The long chaos run (the suite's `apps/jobmanager/test/chaos.test.ts` is the
 * short one): Nexmark q5 and q8 from a rate-limited generator on a
 * JobManager and one-slot TaskManagers, checkpointing every second into the
 * exactly-once file sink, through more faults — TaskManagers killed with
 * SIGKILL (a replacement each time), frozen with SIGSTOP past the heartbeat
 * timeout and thawed, the JobManager killed with SIGKILL and restarted — and
 * a check that each query's committed output equals the plain-loop reference
 * over the same events. Exits 1 on any difference.
 *
 *   pnpm build && pnpm --filter @freshet/bench chaos [--seed 1] [--events 300000] [--rate 3000]
 *     [--queries q5,q8] [--kills 6] [--pauses 2] [--jm-kills 2] [--parallelism 2] [--task-managers 4]
 *
 * Uses Postgres when FRESHET_TEST_DATABASE_URL is set, else the embedded PGlite.
 */
import { parseArgs } from 'node:util';
import { runChaos, type ChaosFault } from '@freshet/jobmanager/testing';
import { cleanRun, committedRecords, exactlyOnce, queryArgs, queryProgram } from './nexmark-runs.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    events: { type: 'string', default: '300000' },
    rate: { type: 'string', default: '3000' },
    queries: { type: 'string', default: 'q5,q8' },
    kills: { type: 'string', default: '6' },
    pauses: { type: 'string', default: '2' },
    'jm-kills': { type: 'string', default: '2' },
    parallelism: { type: 'string', default: '2' },
    'task-managers': { type: 'string', default: '4' },
  },
});
const int = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} expects a non-negative integer`);
  return n;
};
const events = int('events');
const faults: ChaosFault[] = [
  ...Array<ChaosFault>(int('kills')).fill('kill-taskmanager'),
  ...Array<ChaosFault>(int('pauses')).fill('pause-taskmanager'),
  ...Array<ChaosFault>(int('jm-kills')).fill('kill-jobmanager'),
];

let failed = false;
for (const [i, query] of values.queries.split(',').entries()) {
  const seed = int('seed') + i;
  const report = await runChaos({
    programPath: queryProgram(query),
    args: queryArgs(events, int('rate')),
    parallelism: int('parallelism'),
    faults,
    seed,
    taskManagers: int('task-managers'),
    timeoutMs: 30 * 60_000,
    gapMs: [1000, 5000],
    log: (line) => {
      console.log(`${query}: ${line}`);
    },
  });
  const expected = cleanRun(query, events);
  const got = committedRecords(report);
  const same = exactlyOnce(report, expected);
  const recovery = report.faults.map((f) => f.recoveryMs).sort((a, b) => a - b);
  console.log(
    `${query} (seed ${seed}): ${report.status}, ${report.faults.length} faults, ${report.restarts} restarts, ` +
      `${report.checkpoints.completed} checkpoints (${report.checkpoints.failed} failed), ` +
      `committed ${got.length} records, clean run ${expected.length}: ${same ? 'EQUAL' : 'DIFFERENT'}; ` +
      `recovery ms min ${recovery[0] ?? '-'} median ${recovery[Math.floor(recovery.length / 2)] ?? '-'} max ${recovery.at(-1) ?? '-'}`,
  );
  if (!same) failed = true;
}
process.exitCode = failed ? 1 : 0;
