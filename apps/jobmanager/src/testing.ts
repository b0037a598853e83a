/**
 * Fixtures that start real JobManager and TaskManager processes for
 * integration tests: `@freshet/jobmanager/testing`.
 *
 * Processes run from the built `dist/bin.js` files (call {@link ensureBuilt}
 * first), started by `@freshet/launcher`. Every process started through a
 * {@link ProcessGroup} is killed when the group is disposed, so a failed test
 * leaves nothing behind.
 *
 * This module is test tooling, not part of the JobManager: it passes the
 * caller's environment on to the children it starts.
 *
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestDatabaseUrl } from '@freshet/db/testing';
import { createJobManagerClient, type JobManagerClient } from './client.js';
import {
  ProcessGroup as LauncherGroup,
  type EnvOverrides,
  type JobManagerOptions,
  type JobManagerProcess,
  type ManagedProcess,
  type ProcessGroupOptions,
  type TaskManagerOptions,
  type TaskManagerProcess,
} from '@freshet/launcher';

export type { JobManagerProcess, LogLine, ManagedProcess, TaskManagerProcess } from '@freshet/launcher';
export {
  committedLines,
  runChaos,
  seededRandom,
  type ChaosFault,
  type ChaosFaultRecord,
  type ChaosOptions,
  type ChaosReport,
} from './chaos.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Path of the built `freshet-jobmanager` entry point. */
export const JOBMANAGER_BIN = join(repoRoot, 'apps/jobmanager/dist/bin.js');
/** Path of the built `freshet-taskmanager` entry point. */
export const TASKMANAGER_BIN = join(repoRoot, 'apps/taskmanager/dist/bin.js');

/**
 * Builds the JobManager and TaskManager (and what they depend on) with turbo,
 * once per machine at a time: concurrent test files wait on a lock directory
 * instead of racing two builds over the same `dist/`. Set
 * `FRESHET_TEST_SKIP_BUILD=1` when a build already ran.
 */
export async function ensureBuilt(): Promise<void> {
  if (process.env.FRESHET_TEST_SKIP_BUILD === '1') return;
  const lock = join(repoRoot, 'node_modules/.cache/freshet-test-build.lock');
  await mkdir(join(lock, '..'), { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`Timed out waiting for build lock ${lock}; remove it if no build runs`);
      await sleep(200);
    }
  }
  try {
    const result = spawnSync(
      'pnpm',
      [
        'turbo',
        'run',
        'build',
        '--filter=@freshet/jobmanager...',
        '--filter=@freshet/taskmanager...',
        '--output-logs=errors-only',
      ],
      { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (result.status !== 0) {
      throw new Error(
        `Build failed (exit ${result.status ?? result.signal ?? '?'}):\n${result.stdout}\n${result.stderr}`,
      );
    }
  } finally {
    await rmdir(lock);
  }
  for (const bin of [JOBMANAGER_BIN, TASKMANAGER_BIN]) {
    if (!existsSync(bin)) throw new Error(`Build did not produce ${bin}`);
  }
}

/** A client of a JobManager started by the launcher, with the admin token it wrote to its data directory. */
export function adminClient(jm: JobManagerProcess): JobManagerClient {
  return createJobManagerClient(jm.url, { token: jm.adminToken });
}

/** `Authorization` header with a JobManager's admin token, for raw `fetch` calls. */
export function adminHeaders(jm: JobManagerProcess): { authorization: string } {
  return { authorization: `Bearer ${jm.adminToken}` };
}

/** Options of {@link ProcessGroup.startJobManager}. */
export interface StartJobManagerOptions extends JobManagerOptions {
  /** Data directory (holds PGlite when there is no database URL). */
  dataDir: string;
}

/** Options of {@link ProcessGroup.startTaskManager}. */
export interface StartTaskManagerOptions extends TaskManagerOptions {
  jobManagerUrl: string;
}

/**
 * Owns the processes and temporary resources of one test file: a
 * `@freshet/launcher` group that runs the built JobManager and TaskManager
 * from the repository root, without the caller's `DATABASE_URL`, and kills
 * everything at once when disposed (`await using`, or
 * `afterAll(() => group.dispose())`).
 */
export class ProcessGroup extends LauncherGroup {
  constructor(options: ProcessGroupOptions = {}) {
    super({
      bins: { jobManager: JOBMANAGER_BIN, taskManager: TASKMANAGER_BIN },
      cwd: repoRoot,
      env: { DATABASE_URL: undefined },
      killOnDispose: true,
      ...options,
    });
  }

  /** Starts a process from `bin` with `args` and `env` over the group's, collecting its logs. */
  spawn(bin: string, args: readonly string[], env: EnvOverrides = {}): ManagedProcess {
    return this.launch({ bin, args, env });
  }

  /**
   * A fresh database for one JobManager: a new Postgres database when
   * `FRESHET_TEST_DATABASE_URL` is set, else a temporary directory for PGlite.
   * Both are removed on dispose.
   */
  async createDatabase(): Promise<{ dataDir: string; databaseUrl: string | undefined }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'freshet-jm-test-'));
    this.defer(() => rm(dataDir, { recursive: true, force: true }));
    const pg = await createTestDatabaseUrl();
    if (pg !== undefined) this.defer(() => pg.dispose());
    return { dataDir, databaseUrl: pg?.url };
  }

  /** Starts a JobManager (a free port, a 1.5 s heartbeat timeout unless told) and waits for its URL. */
  override startJobManager(opts: StartJobManagerOptions): Promise<JobManagerProcess> {
    return super.startJobManager({ port: 0, heartbeatTimeoutMs: 1500, ...opts });
  }

  /** Starts a TaskManager (2 slots unless told) and waits until it registered. */
  override startTaskManager(opts: StartTaskManagerOptions): Promise<TaskManagerProcess> {
    return super.startTaskManager({ slots: 2, ...opts });
  }

  /** Every TaskManager started through {@link ProcessGroup.startTaskManager}, running or not. */
  spawnedTaskManagers(): readonly TaskManagerProcess[] {
    return this.taskManagers;
  }
}
