// `freshet checkpoints JOB` and the checkpoint flags of `run`/`submit`/`plan`:
// the flags become plan overrides, and the built CLI submits a job without
// checkpointing of its own with `--checkpoint-interval` and
// `--restart-strategy` to a JobManager and a TaskManager process, then lists
// its checkpoints as text and as JSON.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, ensureBuilt, ProcessGroup, type JobManagerProcess } from '@freshet/jobmanager/testing';
import { renderCheckpoints } from './checkpoints.js';
import { planOverridesOfOptions, withPlanOptions, type PlanCommandOptions } from './plan.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(repoRoot, 'packages/cli/dist/bin.js');
const PROGRAM = join(repoRoot, 'apps/jobmanager/test/fixtures/slow-keyed.ts');
const run = promisify(execFile);
let token = '';
const cli = (...args: string[]) =>
  run(process.execPath, [CLI, ...args], {
    cwd: repoRoot,
    timeout: 60_000,
    encoding: 'utf8',
    // The CLI takes its token from FRESHET_TOKEN like a script would.
    env: { ...process.env, FRESHET_TOKEN: token },
  });

/** The overrides `plan` flags give (parsed by commander, as the CLI does). */
function overridesOf(argv: string[]) {
  let opts: PlanCommandOptions | undefined;
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  withPlanOptions(program.command('plan')).action((_file: string, _args: string[], o: PlanCommandOptions) => {
    opts = o;
  });
  program.parse(['node', 'freshet', 'plan', 'job.ts', ...argv]);
  return planOverridesOfOptions(opts!);
}

describe('checkpoint flags', () => {
  it('become the checkpointing and restart-strategy plan overrides', () => {
    expect(
      overridesOf([
        '--checkpoint-interval',
        '1000',
        '--checkpoint-timeout',
        '5000',
        '--checkpoints-retained',
        '5',
        '--checkpoint-tolerable-failures',
        '-1',
        '--restart-strategy',
        'fixed-delay:3:250',
      ]),
    ).toEqual({
      checkpointing: {
        intervalMs: 1000,
        timeoutMs: 5000,
        maxRetainedCheckpoints: 5,
        tolerableCheckpointFailureNumber: -1,
      },
      restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 250 },
    });
    expect(overridesOf(['--checkpoint-interval', '0'])).toEqual({ checkpointing: { intervalMs: 0 } });
    expect(overridesOf([])).toEqual({});
    expect(() => overridesOf(['--restart-strategy', 'sometimes'])).toThrow(/unknown restart strategy/);
  });

  it('--state-backend is a plan override too (heap or disk)', () => {
    expect(overridesOf(['--state-backend', 'disk'])).toEqual({ stateBackend: 'disk' });
    expect(overridesOf(['--state-backend', 'heap'])).toEqual({ stateBackend: 'heap' });
    expect(() => overridesOf(['--state-backend', 'rocksdb'])).toThrow(/expected heap or disk, got 'rocksdb'/);
  });
});

describe('freshet checkpoints', () => {
  const group = new ProcessGroup();
  let jm: JobManagerProcess;
  beforeAll(async () => {
    await ensureBuilt();
    if (process.env.FRESHET_TEST_SKIP_BUILD !== '1') {
      const built = spawnSync(
        'pnpm',
        ['turbo', 'run', 'build', '--filter=@freshet/cli', '--output-logs=errors-only'],
        {
          cwd: repoRoot,
          encoding: 'utf8',
        },
      );
      if (built.status !== 0) throw new Error(`Building the CLI failed:\n${built.stdout}\n${built.stderr}`);
    }
    jm = await group.startJobManager(await group.createDatabase());
    token = jm.adminToken;
    await group.startTaskManager({ jobManagerUrl: jm.url, slots: 2 });
  });
  afterAll(() => group.dispose());

  it('lists the checkpoints of a job submitted with --checkpoint-interval and --restart-strategy', async () => {
    const submitted = await cli(
      'run',
      PROGRAM,
      '--jobmanager',
      jm.url,
      '--detached',
      '--json',
      '-p',
      '2',
      '--checkpoint-interval',
      '200',
      '--restart-strategy',
      'fixed-delay:2:100',
    );
    const { jobId } = JSON.parse(submitted.stdout) as { jobId: string };
    const client = adminClient(jm);
    const deadline = Date.now() + 60_000;
    while ((await client.jobs.checkpoints.query({ jobId })).counts.completed < 2) {
      if (Date.now() > deadline) throw new Error('no two completed checkpoints within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const job = await client.jobs.get.query({ jobId });
    expect(job.configuration.checkpointing).toMatchObject({ intervalMs: 200, mode: 'EXACTLY_ONCE' });
    expect(job.configuration.restartStrategy).toEqual({ type: 'fixed-delay', attempts: 2, delayMs: 100 });

    const json = JSON.parse((await cli('checkpoints', jobId, '--jobmanager', jm.url, '--json')).stdout) as {
      counts: { completed: number };
      latest: { checkpointId: number; status: string; acks: unknown[] } | null;
      history: { checkpointId: number }[];
    };
    expect(json.counts.completed).toBeGreaterThanOrEqual(2);
    expect(json.latest?.status).toBe('COMPLETED');
    expect(json.latest?.acks.length).toBe(job.subtasks.length);
    expect(json.history[0]!.checkpointId).toBeGreaterThanOrEqual(json.latest!.checkpointId);

    const text = (await cli('checkpoints', jobId, '--jobmanager', jm.url, '--limit', '5')).stdout;
    expect(text).toContain(`Job ${jobId}: a checkpoint every 200 ms (EXACTLY_ONCE)`);
    expect(text).toMatch(/^ID\s+STATUS\s+ATTEMPT\s+TRIGGERED/m);
    expect(text).toMatch(/Latest completed: \d+ \(.*_metadata/);
    await cli('cancel', jobId, '--jobmanager', jm.url);
  });

  it('renders a job without periodic checkpoints', () => {
    const text = renderCheckpoints({
      jobId: 'j',
      checkpointing: null,
      counts: { completed: 1, failed: 0, inProgress: 0, savepoints: 0 },
      latest: null,
      latestSavepoint: null,
      history: [],
      durationMs: null,
    });
    expect(text).toBe(
      'Job j: no periodic checkpoints (a bounded job ends with one final checkpoint)\n1 completed, 0 failed, 0 in progress',
    );
  });
});
