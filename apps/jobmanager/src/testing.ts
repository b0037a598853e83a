/**
 * Fixtures that start real JobManager and TaskManager processes for
 * integration tests: `@freshet/jobmanager/testing`.
 *
 * Processes run from the built `dist/bin.js` files (call {@link ensureBuilt}
 * first). Every process started through a {@link ProcessGroup} is killed when
 * the group is disposed, so a failed test leaves nothing behind.
 *
 * This module is test tooling, not part of the JobManager: it passes the
 * caller's environment on to the children it starts.
 *
 * @packageDocumentation
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestDatabaseUrl } from '@freshet/db/testing';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Path of the built `freshet-jobmanager` entry point. */
export const JOBMANAGER_BIN = join(repoRoot, 'apps/jobmanager/dist/bin.js');
/** Path of the built `freshet-taskmanager` entry point. */
export const TASKMANAGER_BIN = join(repoRoot, 'apps/taskmanager/dist/bin.js');

/** One parsed pino log line. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

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

/** A child process whose JSON log lines are collected as they arrive. */
export class ManagedProcess {
  /** Every log line so far (non-JSON stdout lines are kept as `{ level: 0, msg }`). */
  readonly logs: LogLine[] = [];
  /** Everything written to stderr. */
  stderr = '';
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #listeners = new Set<() => void>();

  constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
        this.#wake();
      });
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { level: 0, msg: line };
      }
      this.logs.push(parsed);
      this.#wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid!;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Waits for a log line matching `match` (a message prefix or a predicate)
   * that arrives after the first `after` lines.
   */
  async waitForLog(
    match: string | ((line: LogLine) => boolean),
    timeoutMs = 15_000,
    after = 0,
  ): Promise<LogLine> {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg.startsWith(match) : match;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.slice(after).find(test);
      if (found !== undefined) return found;
      if (!this.running)
        throw new Error(`Process ${this.pid} exited before logging ${String(match)}:\n${this.#tail()}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`Timed out after ${timeoutMs} ms waiting for log ${String(match)}:\n${this.#tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const listeners = this.#listeners;
        function done(): void {
          clearTimeout(timer);
          listeners.delete(done);
          resolve();
        }
        listeners.add(done);
      });
    }
  }

  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.#child.kill(signal);
    return this.exited;
  }

  #wake(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #tail(): string {
    return [...this.logs.slice(-20).map((l) => JSON.stringify(l)), this.stderr].join('\n');
  }
}

/** A started JobManager process. */
export interface JobManagerProcess extends ManagedProcess {
  /** e.g. `http://127.0.0.1:40123` */
  readonly url: string;
  readonly port: number;
}

/** A started and registered TaskManager process. */
export interface TaskManagerProcess extends ManagedProcess {
  readonly taskManagerId: string;
  readonly dataPort: number;
}

/** Options of {@link ProcessGroup.startJobManager}. */
export interface StartJobManagerOptions {
  /** Data directory (holds PGlite when there is no database URL). */
  dataDir: string;
  /** Postgres URL; absent = PGlite under `dataDir`. */
  databaseUrl?: string | undefined;
  /** @default 0 (a free port) */
  port?: number;
  /** @default 1500 */
  heartbeatTimeoutMs?: number;
  /** More flags. */
  args?: readonly string[];
}

/** Options of {@link ProcessGroup.startTaskManager}. */
export interface StartTaskManagerOptions {
  jobManagerUrl: string;
  /** @default 2 */
  slots?: number;
  args?: readonly string[];
}

/**
 * Owns the processes and temporary resources of one test file. Dispose it
 * (`await using`, or `afterAll(() => group.dispose())`) to kill every process
 * still running and delete what it created.
 */
export class ProcessGroup implements AsyncDisposable {
  readonly #processes: ManagedProcess[] = [];
  readonly #taskManagers: TaskManagerProcess[] = [];
  readonly #cleanups: (() => Promise<void>)[] = [];

  /** Starts a process from `bin` with `args`, collecting its logs. */
  spawn(
    bin: string,
    args: readonly string[],
    env: Readonly<Record<string, string | undefined>> = {},
  ): ManagedProcess {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const managed = new ManagedProcess(child);
    this.#processes.push(managed);
    return managed;
  }

  /**
   * A fresh database for one JobManager: a new Postgres database when
   * `FRESHET_TEST_DATABASE_URL` is set, else a temporary directory for PGlite.
   * Both are removed on dispose.
   */
  async createDatabase(): Promise<{ dataDir: string; databaseUrl: string | undefined }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'freshet-jm-test-'));
    this.#cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const pg = await createTestDatabaseUrl();
    if (pg !== undefined) this.#cleanups.push(() => pg.dispose());
    return { dataDir, databaseUrl: pg?.url };
  }

  /** Starts a JobManager and waits for `JobManager listening on <url>`. */
  async startJobManager(opts: StartJobManagerOptions): Promise<JobManagerProcess> {
    const args = [
      '--port',
      String(opts.port ?? 0),
      '--data-dir',
      opts.dataDir,
      '--heartbeat-timeout-ms',
      String(opts.heartbeatTimeoutMs ?? 1500),
      ...(opts.args ?? []),
    ];
    const jm = this.spawn(JOBMANAGER_BIN, args, { DATABASE_URL: opts.databaseUrl });
    const line = await jm.waitForLog('JobManager listening on ', 60_000);
    const url = /listening on (\S+)/.exec(line.msg)![1]!;
    return Object.assign(jm, { url, port: Number(new URL(url).port) });
  }

  /** Starts a TaskManager and waits until it registered. */
  async startTaskManager(opts: StartTaskManagerOptions): Promise<TaskManagerProcess> {
    const tm = this.spawn(TASKMANAGER_BIN, [
      '--jobmanager',
      opts.jobManagerUrl,
      '--slots',
      String(opts.slots ?? 2),
      ...(opts.args ?? []),
    ]);
    const data = await tm.waitForLog('TaskManager data port listening on ');
    const registered = await tm.waitForLog('TaskManager registered as ');
    const started = Object.assign(tm, {
      taskManagerId: String(registered.taskManagerId),
      dataPort: Number(data.dataPort),
    });
    this.#taskManagers.push(started);
    return started;
  }

  /** Every TaskManager started through {@link ProcessGroup.startTaskManager}, running or not. */
  spawnedTaskManagers(): readonly TaskManagerProcess[] {
    return this.#taskManagers;
  }

  /** Kills every process still running (SIGKILL) and removes temporary resources. */
  async dispose(): Promise<void> {
    await Promise.all(this.#processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
