/**
 * A chaos run (test tooling, part of `@freshet/jobmanager/testing`): a
 * JobManager and TaskManager processes with one slot each, one checkpointed
 * job writing with the exactly-once file sink, and a seeded sequence of
 * faults while it runs — `kill -9` of a TaskManager (a replacement starts
 * each time), a TaskManager frozen with SIGSTOP until the JobManager declares
 * it lost then thawed with SIGCONT, and `kill -9` of the JobManager followed
 * by a restart on the same database. The caller compares what the job
 * committed with a clean run's output.
 *
 * Seeded: the order of the faults, the waits between them and the victims
 * come from the seed, so a failing run can be repeated (timing still varies
 * with the machine's load). Every wait is bounded.
 *
 * @packageDocumentation
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compileProgram } from '@freshet/planner';
import type { RestartStrategySpec } from '@freshet/protocol';
import { uploadBundle } from './client.js';
import type { JobDetails } from './jobs/views.js';
import { adminClient, ProcessGroup, type JobManagerProcess, type TaskManagerProcess } from './testing.js';

/** A fault the chaos run injects. */
export type ChaosFault = 'kill-taskmanager' | 'pause-taskmanager' | 'kill-jobmanager';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** The program (several files are fine: it is compiled here and uploaded as a bundle). */
  programPath: string;
  /** The program's arguments, given the directory its exactly-once file sink must write. */
  args: (outputDir: string) => string[];
  parallelism: number;
  /** Checkpoint interval of the job (a submission override). @default 1000 */
  checkpointIntervalMs?: number;
  /** Restart strategy of the job (a submission override). @default exponential-delay 200 ms to 2 s */
  restartStrategy?: RestartStrategySpec;
  /** The faults to inject; their order is shuffled by the seed. */
  faults: readonly ChaosFault[];
  seed: number;
  /** TaskManagers with one slot each (the job needs `parallelism`; the rest are spares). @default parallelism + 1 */
  taskManagers?: number;
  /** @default 3000 */
  heartbeatTimeoutMs?: number;
  /** Random wait before each fault, after the job runs again and completed a checkpoint since. @default [500, 2500] */
  gapMs?: readonly [number, number];
  /** The whole run, cluster start included. @default 170000 */
  timeoutMs?: number;
  /** Progress lines. @default nothing */
  log?: (line: string) => void;
}

/** One injected fault. */
export interface ChaosFaultRecord {
  kind: ChaosFault;
  /** The TaskManager killed or frozen. */
  victim?: string;
  /** Since the job first ran. */
  atMs: number;
  /** From the fault to the job RUNNING again (restarted from its checkpoint). */
  recoveryMs: number;
  /** The checkpoint it restarted from, per the job's events; null for a restart from scratch. */
  fromCheckpoint: number | null;
}

/** What a chaos run did and what the job committed. */
export interface ChaosReport {
  seed: number;
  jobId: string;
  status: string;
  failureCause: string | null;
  faults: ChaosFaultRecord[];
  restarts: number;
  attempt: number;
  checkpoints: {
    completed: number;
    failed: number;
    /** Trigger to completion over the newest completed checkpoints (up to 1000); null without any. */
    durationMs: { p50: number; p99: number; max: number } | null;
    /** State size over the same checkpoints, bytes (nearest-rank median, largest); null without any. */
    bytes: { p50: number; max: number } | null;
  };
  /** Every line of the committed part files (in-progress and pending files are not read). */
  committed: string[];
  /** From the submission to the job's end. */
  durationMs: number;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The lines of every committed part file (`part-<subtask>-<n>.<ext>`) of an exactly-once file sink's directory. */
export async function committedLines(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => /^part-\d+-\d+\.[a-z]+$/.test(n)).sort();
  const lines: string[] = [];
  for (const name of names) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n'))
      if (line.length > 0) lines.push(line);
  }
  return lines;
}

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** Runs a job through the faults; see the module documentation. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const random = seededRandom(opts.seed);
  const deadline = Date.now() + (opts.timeoutMs ?? 170_000);
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 3000;
  const [gapMin, gapMax] = opts.gapMs ?? [500, 2500];
  const order = [...opts.faults];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  log(`chaos: seed ${opts.seed}, faults ${order.join(', ')}`);

  const group = new ProcessGroup();
  try {
    const database = await group.createDatabase();
    const output = await mkdtemp(join(tmpdir(), 'freshet-chaos-out-'));
    group.defer(() => rm(output, { recursive: true, force: true }));
    const jm: JobManagerProcess = await group.startJobManager({
      ...database,
      heartbeatTimeoutMs,
      args: ['--cancel-timeout-ms', String(heartbeatTimeoutMs)],
    });
    const client = adminClient(jm);
    const tms: TaskManagerProcess[] = [];
    const addTaskManager = async (): Promise<TaskManagerProcess> => {
      // The job's file sink writes there: the only host directory its sandbox may write.
      const tm = await group.startTaskManager({
        jobManagerUrl: jm.url,
        slots: 1,
        args: ['--task-files', output],
      });
      tms.push(tm);
      return tm;
    };
    for (let i = 0; i < (opts.taskManagers ?? opts.parallelism + 1); i++) await addTaskManager();

    const compiled = await compileProgram({ path: opts.programPath }, { typecheck: false });
    if (!compiled.ok)
      throw new Error(`${opts.programPath} does not compile: ${JSON.stringify(compiled.errors[0])}`);
    const name = `${basename(opts.programPath, extname(opts.programPath))}.mjs`;
    const { artifact } = await uploadBundle(client, compiled.bundlePath, name);
    const submittedAt = Date.now();
    const { jobId } = await client.jobs.submit.mutate({
      artifactId: artifact.id,
      args: opts.args(output),
      parallelism: opts.parallelism,
      runtimeMode: 'STREAMING',
      checkpointing: { intervalMs: opts.checkpointIntervalMs ?? 1000 },
      restartStrategy: opts.restartStrategy ?? {
        type: 'exponential-delay',
        initialBackoffMs: 200,
        maxBackoffMs: 2000,
        backoffMultiplier: 1.5,
        resetBackoffThresholdMs: 3_600_000,
        jitterFactor: 0.1,
      },
    });

    const poll = async <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms: number) => {
      const until = Math.min(deadline, Date.now() + ms);
      let last: T | undefined;
      for (;;) {
        try {
          last = await read();
          if (ok(last)) return last;
        } catch {
          // The JobManager may be down or starting: try again.
        }
        if (Date.now() > until)
          throw new Error(
            `chaos (seed ${opts.seed}): timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)}`,
          );
        await sleep(50);
      }
    };
    const job = () => client.jobs.get.query({ jobId });
    const checkpointsDone = async () => (await client.jobs.checkpoints.query({ jobId, limit: 1 })).counts;
    const latestCompleted = async () =>
      (await client.jobs.checkpoints.query({ jobId, limit: 1 })).latest?.checkpointId ?? 0;

    const first = await poll(
      'the job to run',
      job,
      (j) => j.status === 'RUNNING' || TERMINAL.has(j.status),
      60_000,
    );
    const startedAt = Date.now();
    log(`chaos: job ${jobId} ${first.status} after ${startedAt - submittedAt} ms`);
    await poll('a first checkpoint', checkpointsDone, (c) => c.completed > 0, 60_000);

    const faults: ChaosFaultRecord[] = [];
    for (const kind of order) {
      await sleep(gapMin + random() * (gapMax - gapMin));
      const before = await poll('the job', job, () => true, 30_000);
      if (TERMINAL.has(before.status)) {
        log(`chaos: the job ended ${before.status} before the fault ${kind}`);
        break;
      }
      const at = Date.now();
      let victim: string | undefined;
      if (kind === 'kill-jobmanager') {
        await jm.kill();
        await jm.restart();
      } else {
        const hosts = [...new Set(before.subtasks.map((s) => s.taskManager?.id))].sort();
        const id = hosts[Math.floor(random() * hosts.length)];
        const tm = tms.find((t) => t.running && t.taskManagerId === id);
        if (tm === undefined) throw new Error(`chaos: no TaskManager process runs ${id ?? 'the job'}`);
        victim = id;
        if (kind === 'kill-taskmanager') {
          await tm.kill();
          await addTaskManager();
        } else {
          tm.pause();
          try {
            await poll(
              `TaskManager ${id} to be declared lost`,
              () => client.taskManagers.get.query({ id: id! }),
              (t) => t.status === 'LOST',
              heartbeatTimeoutMs * 4,
            );
          } finally {
            tm.resume();
          }
        }
      }
      const back = await poll(
        `the job to run again after ${kind}`,
        job,
        (j) => TERMINAL.has(j.status) || (j.status === 'RUNNING' && j.restarts > before.restarts),
        90_000,
      );
      const recoveryMs = Date.now() - at;
      const restartEvent = [...back.events]
        .reverse()
        .find((e) => /from checkpoint \d+|from scratch/.test(e.message));
      const fromCheckpoint = Number(/from checkpoint (\d+)/.exec(restartEvent?.message ?? '')?.[1] ?? NaN);
      faults.push({
        kind,
        ...(victim === undefined ? {} : { victim }),
        atMs: at - startedAt,
        recoveryMs,
        fromCheckpoint: Number.isNaN(fromCheckpoint) ? null : fromCheckpoint,
      });
      log(
        `chaos: ${kind}${victim === undefined ? '' : ` of ${victim}`} at ${at - startedAt} ms: ${back.status} again after ${recoveryMs} ms (attempt ${back.attempt}${Number.isNaN(fromCheckpoint) ? '' : `, from checkpoint ${fromCheckpoint}`})`,
      );
      if (TERMINAL.has(back.status)) break;
      // Progress before the next fault: a checkpoint of the new attempt completes.
      const seen = await latestCompleted();
      await poll('a checkpoint after the restart', latestCompleted, (n) => n > seen, 60_000);
    }

    const ended: JobDetails = await poll(
      'the job to end',
      job,
      (j) => TERMINAL.has(j.status),
      deadline - Date.now(),
    );
    const summary = await client.jobs.checkpoints.query({ jobId, limit: 1000 });
    const counts = summary.counts;
    const sizes = summary.history
      .filter((h) => h.status === 'COMPLETED' && h.bytes !== null)
      .map((h) => h.bytes!)
      .sort((a, b) => a - b);
    log(
      `chaos: job ${ended.status} after ${Date.now() - submittedAt} ms, ${ended.restarts} restarts, ${counts.completed} checkpoints completed, ${counts.failed} failed`,
    );
    return {
      seed: opts.seed,
      jobId,
      status: ended.status,
      failureCause: ended.failureCause,
      faults,
      restarts: ended.restarts,
      attempt: ended.attempt,
      checkpoints: {
        completed: counts.completed,
        failed: counts.failed,
        durationMs: summary.durationMs,
        bytes:
          sizes.length === 0 ? null : { p50: sizes[Math.ceil(sizes.length / 2) - 1]!, max: sizes.at(-1)! },
      },
      committed: await committedLines(output),
      durationMs: Date.now() - submittedAt,
    };
  } finally {
    await group.dispose();
  }
}
