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
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosFault } from '@freshet/jobmanager/testing';
import { NexmarkGenerator, type NexmarkEvent } from '@freshet/nexmark';
import { canonical } from '../../examples/harness.js';
import { reference } from '../../examples/nexmark/reference.js';

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
const generatorSeed = 5;
const faults: ChaosFault[] = [
  ...Array<ChaosFault>(int('kills')).fill('kill-taskmanager'),
  ...Array<ChaosFault>(int('pauses')).fill('pause-taskmanager'),
  ...Array<ChaosFault>(int('jm-kills')).fill('kill-jobmanager'),
];

const gen = new NexmarkGenerator({ seed: generatorSeed, events });
const all: NexmarkEvent[] = [];
while (gen.hasNext()) all.push(gen.next());

let failed = false;
for (const [i, query] of values.queries.split(',').entries()) {
  const compute = reference[query];
  if (compute === undefined) throw new Error(`No reference for ${query}`);
  const seed = int('seed') + i;
  const report = await runChaos({
    programPath: fileURLToPath(new URL(`../../examples/nexmark/${query}.ts`, import.meta.url)),
    args: (out) => [
      '--events',
      String(events),
      '--seed',
      String(generatorSeed),
      '--rate',
      values.rate,
      '--output',
      out,
    ],
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
  const expected = canonical(compute(all));
  const got = canonical(report.committed.map((l) => JSON.parse(l) as unknown));
  const same = report.status === 'FINISHED' && JSON.stringify(got) === JSON.stringify(expected);
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
