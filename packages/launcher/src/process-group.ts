/**
 * A set of processes started together — a JobManager, its TaskManagers, a
 * dashboard — with shared defaults (bin paths, environment, log sinks,
 * timeouts), stopped together in the right order, and the temporary
 * resources that go with them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobManagerProcess, TaskManagerProcess } from './freshet-processes.js';
import {
  DEFAULT_GRACE_MS,
  describeExit,
  LaunchError,
  ManagedProcess,
  type EnvOverrides,
  type ExitStatus,
  type LogOptions,
  type ProcessSpec,
} from './managed-process.js';

/**
 * Where the daemons' entry points are. The launcher depends on no Freshet
 * package, so whoever uses it says which build to run (`dist/bin.js`, or
 * `src/bin.ts` under a TypeScript loader).
 */
export interface DaemonBins {
  /** The JobManager's `bin` script. */
  jobManager?: string | undefined;
  /** The TaskManager's `bin` script. */
  taskManager?: string | undefined;
}

/** Options of a {@link ProcessGroup}: defaults for every process it starts. */
export interface ProcessGroupOptions {
  /** Needed by {@link ProcessGroup.startJobManager} / {@link ProcessGroup.startTaskManager}. */
  bins?: DaemonBins | undefined;
  /** Environment of every process (a process's own `env` goes over it). @see {@link EnvOverrides} */
  env?: EnvOverrides | undefined;
  /** Working directory of every process. @default the launcher's */
  cwd?: string | undefined;
  /** Node flags of every process, before a process's own. */
  execArgv?: readonly string[] | undefined;
  /** Where every process's output goes. */
  logs?: LogOptions | undefined;
  /** How long a process may take to become ready. @default 60000 */
  readyTimeoutMs?: number | undefined;
  /** SIGTERM to SIGKILL, for a process's `stop()` and the group's. @default 10000 */
  graceMs?: number | undefined;
  /** `dispose()` SIGKILLs every process at once instead of stopping them gracefully (fast test teardown). @default false */
  killOnDispose?: boolean | undefined;
  /** Called when a process exits without having been stopped through its handle or the group. */
  onUnexpectedExit?: ((process: ManagedProcess, status: ExitStatus) => void) | undefined;
}

/** Per-process options shared by the start methods. */
export interface LaunchOptions {
  /** Log prefix and log file name. */
  name?: string | undefined;
  /** More arguments, after the ones the options make. */
  args?: readonly string[] | undefined;
  /** Environment over the group's (secrets go here, not in `args`). */
  env?: EnvOverrides | undefined;
  /** Node flags after the group's (e.g. `--cpu-prof`). */
  execArgv?: readonly string[] | undefined;
}

/** Options of {@link ProcessGroup.startJobManager}; absent ones leave the JobManager's defaults. */
export interface JobManagerOptions extends LaunchOptions {
  /** `--host` */
  host?: string | undefined;
  /** `--port` (0 = a free port; the handle's `url` says which). */
  port?: number | undefined;
  /** `--data-dir` (holds PGlite when there is no database URL). */
  dataDir?: string | undefined;
  /** `DATABASE_URL` (a Postgres URL); absent = the environment's, which the group may remove. */
  databaseUrl?: string | undefined;
  /** `--heartbeat-timeout-ms` */
  heartbeatTimeoutMs?: number | undefined;
}

/** Options of {@link ProcessGroup.startTaskManager}; absent ones leave the TaskManager's defaults. */
export interface TaskManagerOptions extends LaunchOptions {
  /** `--jobmanager` @default the URL of the group's last started JobManager */
  jobManagerUrl?: string | undefined;
  /** `--slots` */
  slots?: number | undefined;
  /** `--host` (the data port's address, announced) */
  host?: string | undefined;
  /** `--data-port` (0 = a free port) */
  dataPort?: number | undefined;
  /** `--resource-id` */
  resourceId?: string | undefined;
  /** `--data-dir` (bundle cache) */
  dataDir?: string | undefined;
  /**
   * `--join-secret-file` @default the join secret file of the group's
   * JobManager at `jobManagerUrl` (or of its last started one)
   */
  joinSecretFile?: string | undefined;
}

/** A JobManager's URL, or undefined before it is known. */
function urlOf(jm: JobManagerProcess): string | undefined {
  try {
    return jm.url;
  } catch {
    return undefined;
  }
}

function flag(name: string, value: string | number | undefined): string[] {
  return value === undefined ? [] : [name, String(value)];
}

/**
 * Owns processes and what they need. `await using group = new ProcessGroup(…)`
 * (or `dispose()` in `afterAll`) stops every process still running —
 * TaskManagers and other processes first, then JobManagers — and runs the
 * deferred cleanups, so a failed test or a Ctrl-C leaves nothing behind.
 *
 * ```ts
 * await using group = new ProcessGroup({ bins, env: { FRESHET_CLUSTER_SECRET: secret } });
 * const jm = await group.startJobManager({ port: 0, dataDir });
 * const tms = await Promise.all([1, 2, 3].map(() => group.startTaskManager({ slots: 2 })));
 * await tms[0].kill();      // kill -9
 * tms[1].pause();           // SIGSTOP: a hung TaskManager
 * tms[1].resume();          // SIGCONT
 * await jm.restart();       // same port, TaskManagers re-register
 * ```
 */
export class ProcessGroup implements AsyncDisposable {
  readonly #options: ProcessGroupOptions;
  readonly #processes: ManagedProcess[] = [];
  readonly #jobManagers: JobManagerProcess[] = [];
  readonly #taskManagers: TaskManagerProcess[] = [];
  readonly #cleanups: (() => unknown)[] = [];

  constructor(options: ProcessGroupOptions = {}) {
    this.#options = options;
  }

  /** Every process started, running or not, in start order. */
  get processes(): readonly ManagedProcess[] {
    return this.#processes;
  }

  /** Every JobManager started, running or not. */
  get jobManagers(): readonly JobManagerProcess[] {
    return this.#jobManagers;
  }

  /** Every TaskManager started, running or not. */
  get taskManagers(): readonly TaskManagerProcess[] {
    return this.#taskManagers;
  }

  /** Starts any Node script with the group's defaults; it is ready at once. */
  launch(spec: ProcessSpec): ManagedProcess {
    return this.#adopt(new ManagedProcess(this.#withDefaults(spec)));
  }

  /** Starts a JobManager and waits until it logged its URL. */
  async startJobManager(options: JobManagerOptions = {}): Promise<JobManagerProcess> {
    const args = [
      ...flag('--host', options.host),
      ...flag('--port', options.port),
      ...flag('--data-dir', options.dataDir),
      ...flag('--heartbeat-timeout-ms', options.heartbeatTimeoutMs),
      ...(options.args ?? []),
    ];
    const env =
      options.databaseUrl === undefined ? options.env : { ...options.env, DATABASE_URL: options.databaseUrl };
    const spec = this.#daemonSpec('jobManager', options, {
      name: 'jobmanager',
      role: 'jobmanager',
      args,
      env,
    });
    const jm = this.#adopt(new JobManagerProcess(spec));
    this.#jobManagers.push(jm);
    return jm.ready();
  }

  /** Starts a TaskManager and waits until its data port listens and it registered. */
  async startTaskManager(options: TaskManagerOptions = {}): Promise<TaskManagerProcess> {
    const jobManagerUrl = options.jobManagerUrl ?? this.#jobManagers.at(-1)?.url;
    if (jobManagerUrl === undefined)
      throw new LaunchError(
        'startTaskManager: no jobManagerUrl given and no JobManager started in this group',
      );
    const jm = this.#jobManagers.find((j) => urlOf(j) === jobManagerUrl) ?? this.#jobManagers.at(-1);
    const args = [
      ...flag('--jobmanager', jobManagerUrl),
      ...flag('--join-secret-file', options.joinSecretFile ?? jm?.joinSecretFile),
      ...flag('--slots', options.slots),
      ...flag('--host', options.host),
      ...flag('--data-port', options.dataPort),
      ...flag('--resource-id', options.resourceId),
      ...flag('--data-dir', options.dataDir),
      ...(options.args ?? []),
    ];
    const name = `taskmanager-${this.#taskManagers.length + 1}`;
    const spec = this.#daemonSpec('taskManager', options, {
      name,
      role: 'taskmanager',
      args,
      env: options.env,
    });
    const tm = this.#adopt(new TaskManagerProcess(spec));
    this.#taskManagers.push(tm);
    return tm.ready();
  }

  /**
   * Polls `check` every `intervalMs` until it returns true. Rejects when
   * `timeoutMs` pass (with the last error `check` threw) or when a process
   * of the group exits unexpectedly meanwhile.
   */
  async waitUntil(
    what: string,
    check: () => Promise<boolean>,
    timeoutMs: number,
    intervalMs = 250,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const dead = this.#processes.find((p) => p.crashed);
      if (dead) {
        const dir = this.#options.logs?.dir;
        const status = await dead.exited;
        throw new LaunchError(
          `${dead.name} exited (${describeExit(status)}) while waiting for ${what}${dir !== undefined ? `; see ${join(dir, `${dead.name}.log`)}` : `:\n${dead.tail()}`}`,
        );
      }
      try {
        if (await check()) return;
      } catch (err) {
        lastError = err;
      }
      await sleep(intervalMs);
    }
    throw new LaunchError(
      `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError instanceof Error ? ` (${lastError.message})` : ''}`,
    );
  }

  /** Runs `cleanup` on dispose, after every process stopped (last deferred, first run). */
  defer(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  /**
   * Stops every process still running: the TaskManagers and other processes
   * in parallel (TaskManagers deregister), then the JobManagers; each gets
   * SIGTERM, then its group SIGKILL after the grace period.
   */
  async stop(): Promise<void> {
    const all = [...this.#processes];
    const graceMs = this.#options.graceMs ?? DEFAULT_GRACE_MS;
    for (const tier of [
      all.filter((p) => p.role !== 'jobmanager'),
      all.filter((p) => p.role === 'jobmanager'),
    ])
      await Promise.all(tier.map((p) => p.stop('SIGTERM', graceMs)));
  }

  /** SIGKILLs every process group at once. */
  async kill(): Promise<void> {
    await Promise.all(this.#processes.map((p) => p.kill()));
  }

  /** Stops (or, with `killOnDispose`, kills) every process, then runs the deferred cleanups. */
  async dispose(): Promise<void> {
    if (this.#options.killOnDispose) await this.kill();
    else await this.stop();
    for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  #withDefaults(spec: ProcessSpec): ProcessSpec {
    const o = this.#options;
    return {
      ...spec,
      env: { ...o.env, ...spec.env },
      cwd: spec.cwd ?? o.cwd,
      execArgv: [...(o.execArgv ?? []), ...(spec.execArgv ?? [])],
      logs: { ...o.logs, ...spec.logs },
      graceMs: spec.graceMs ?? o.graceMs,
      readyTimeoutMs: spec.readyTimeoutMs ?? o.readyTimeoutMs,
    };
  }

  #daemonSpec(
    kind: keyof DaemonBins,
    options: LaunchOptions,
    spec: Omit<ProcessSpec, 'bin'> & { name: string },
  ): ProcessSpec {
    const bin = this.#options.bins?.[kind];
    if (bin === undefined)
      throw new LaunchError(`This ProcessGroup has no bins.${kind}: pass it to the constructor`);
    if (!existsSync(bin)) throw new LaunchError(`${bin} is missing: build first (pnpm build)`);
    return this.#withDefaults({ ...spec, bin, name: options.name ?? spec.name, execArgv: options.execArgv });
  }

  #adopt<T extends ManagedProcess>(p: T): T {
    this.#processes.push(p);
    p.onExit((status, expected) => {
      if (!expected) this.#options.onUnexpectedExit?.(p, status);
    });
    return p;
  }
}
