// The chaos test of issue 9: Nexmark q5 (two hash exchanges, sliding
// event-time windows, keyed state and timers) from a rate-limited generator
// on a JobManager and three one-slot TaskManagers (Postgres when
// FRESHET_TEST_DATABASE_URL is set, else the embedded PGlite), checkpointing
// every second into the exactly-once file sink. While it runs: three
// TaskManagers killed with SIGKILL (a replacement starts each time), one
// frozen with SIGSTOP past the heartbeat timeout then thawed, and the
// JobManager killed with SIGKILL and started again. The job ends FINISHED and
// its committed output is exactly the clean run's: the plain-loop reference
// of q5 over the same events, which the cluster reproduces without faults
// (cluster-nexmark.test.ts). Seeded (FRESHET_CHAOS_SEED), bounded well under
// three minutes. A longer variant: `pnpm --filter @freshet/bench chaos`.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { NexmarkGenerator, type NexmarkEvent } from '@freshet/nexmark';
import { canonical } from '../../../examples/harness.js';
import { reference } from '../../../examples/nexmark/reference.js';
import { ensureBuilt, runChaos } from '../src/testing.js';

const SEED = Number(process.env.FRESHET_CHAOS_SEED ?? 9);
const EVENTS = 120_000;
const RATE = 2500;
const GENERATOR_SEED = 5;
const q5 = fileURLToPath(new URL('../../../examples/nexmark/q5.ts', import.meta.url));

beforeAll(async () => {
  await ensureBuilt();
});

describe('chaos', () => {
  it('Nexmark q5 survives 3 TaskManager kills, a SIGSTOP past the heartbeat timeout and a JobManager kill with exactly the clean output', async () => {
    const report = await runChaos({
      programPath: q5,
      args: (out) => [
        '--events',
        String(EVENTS),
        '--seed',
        String(GENERATOR_SEED),
        '--rate',
        String(RATE),
        '--output',
        out,
      ],
      parallelism: 2,
      checkpointIntervalMs: 1000,
      faults: [
        'kill-taskmanager',
        'kill-taskmanager',
        'kill-taskmanager',
        'pause-taskmanager',
        'kill-jobmanager',
      ],
      seed: SEED,
      taskManagers: 3,
      heartbeatTimeoutMs: 3000,
      timeoutMs: 165_000,
      log: (line) => {
        console.log(line);
      },
    });
    const gen = new NexmarkGenerator({ seed: GENERATOR_SEED, events: EVENTS });
    const events: NexmarkEvent[] = [];
    while (gen.hasNext()) events.push(gen.next());
    const expected = canonical(reference.q5!(events));
    const got = canonical(report.committed.map((l) => JSON.parse(l) as unknown));
    console.log(
      `chaos (seed ${SEED}): ${report.faults.length} faults, ${report.restarts} restarts, ` +
        `${report.checkpoints.completed} checkpoints; committed ${got.length} records, clean run ${expected.length}; ` +
        `recovery ms ${report.faults.map((f) => `${f.kind}=${f.recoveryMs}`).join(' ')}`,
    );
    expect(report.status, report.failureCause ?? '').toBe('FINISHED');
    expect(report.faults.map((f) => f.kind).sort()).toEqual([
      'kill-jobmanager',
      'kill-taskmanager',
      'kill-taskmanager',
      'kill-taskmanager',
      'pause-taskmanager',
    ]);
    expect(report.faults.every((f) => f.fromCheckpoint !== null)).toBe(true);
    expect(report.restarts).toBeGreaterThanOrEqual(5);
    expect(expected.length).toBeGreaterThan(20);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
  }, 175_000);
});
