/**
 * One launched Node process: spawned as the leader of its own process group
 * (so signals reach everything it started), its output read line by line
 * (kept, forwarded to a terminal with a `[name]` prefix, written to a file),
 * and stopped with SIGTERM, then SIGKILL for the whole group after a grace
 * period. The same handle survives a {@link ManagedProcess.restart}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeMatch,
  formatForTerminal,
  matcherOf,
  readLine,
  type LogLine,
  type LogMatch,
} from './logs.js';

/** How a process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Environment over the launcher's own: a value replaces (or adds) a
 * variable, `undefined` removes it. Secrets (a join secret, an admin token)
 * belong here rather than in the arguments: any local user can read a
 * process's arguments with `ps`.
 */
export type EnvOverrides = Readonly<Record<string, string | undefined>>;

/** What a process is to its group: TaskManagers and other processes stop before JobManagers. */
export type ProcessRole = 'jobmanager' | 'taskmanager' | 'other';

/** Where a process's output goes besides the handle. */
export interface LogOptions {
  /** Forward every line here, prefixed `[name] `, pino JSON shown as `LEVEL msg` (a terminal). */
  forward?: NodeJS.WritableStream | undefined;
  /** Write the raw output (stdout and stderr) to `<dir>/<name>.log` (truncated at the first start, appended on restarts). */
  dir?: string | undefined;
  /** Keep at most this many log lines on the handle, the newest. @default Infinity */
  retain?: number | undefined;
}

/** How to start a process: `node [...execArgv] bin [...args]`. */
export interface ProcessSpec {
  /** Log prefix and log file name. @default the package folder of `bin` (e.g. `jobmanager` for `apps/jobmanager/dist/bin.js`) */
  name?: string | undefined;
  /** @default 'other' */
  role?: ProcessRole | undefined;
  /** The Node script to run. */
  bin: string;
  args?: readonly string[] | undefined;
  /** Node's own flags (a loader, `--cpu-prof`). */
  execArgv?: readonly string[] | undefined;
  /** @see {@link EnvOverrides} */
  env?: EnvOverrides | undefined;
  /** @default the launcher's working directory */
  cwd?: string | undefined;
  logs?: LogOptions | undefined;
  /** How long {@link ManagedProcess.stop} waits after SIGTERM before SIGKILL. @default 10000 */
  graceMs?: number | undefined;
  /** How long the process may take to become ready (its ready line). @default 60000 */
  readyTimeoutMs?: number | undefined;
}

/** A process did not start, did not become ready, or ended before it was. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
}

/** Default of {@link ProcessSpec.graceMs}. */
export const DEFAULT_GRACE_MS = 10_000;
/** Default of {@link ProcessSpec.readyTimeoutMs}. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** Lines of stderr kept on a handle (the newest). */
const STDERR_KEEP = 1 << 20;
/** After an exit, how long to wait for output still in the pipes (a grandchild may hold them open). */
const DRAIN_MS = 1_000;

// Process groups still led by a running child: killed if this process exits
// without stopping them (a test runner that bails, an uncaught exception).
const live = new Set<ManagedProcess>();
function killLiveGroups(): void {
  for (const p of live) p.signal('SIGKILL');
}
function track(p: ManagedProcess): void {
  if (live.size === 0) process.on('exit', killLiveGroups);
  live.add(p);
}
function untrack(p: ManagedProcess): void {
  if (live.delete(p) && live.size === 0) process.off('exit', killLiveGroups);
}

/** `bin`'s package folder name (`apps/jobmanager/dist/bin.js` → `jobmanager`), else its base name. */
function nameOf(bin: string): string {
  const dir = dirname(bin);
  if (basename(dir) === 'dist' || basename(dir) === 'src') return basename(dirname(dir));
  return basename(bin, extname(bin));
}

function environment(overrides: EnvOverrides): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) Reflect.deleteProperty(env, key);
    else env[key] = value;
  }
  return env;
}

/**
 * A running (or ended) child process. Handles come from a `ProcessGroup`
 * (`launch`, `startJobManager`, `startTaskManager`); `await using` stops it.
 */
export class ManagedProcess implements AsyncDisposable {
  /** Log prefix and log file name. */
  readonly name: string;
  /** @see {@link ProcessRole} */
  readonly role: ProcessRole;
  /** How the next (re)start runs; subclasses pin what the first run chose (a port). */
  protected spec: ProcessSpec;
  #child!: ChildProcess;
  #exited!: Promise<ExitStatus>;
  #spawnFailed = false;
  #expectExit = false;
  #crashed = false;
  #paused = false;
  #starts = 0;
  readonly #logs: LogLine[] = [];
  #dropped = 0;
  #stderr = '';
  readonly #wakers = new Set<() => void>();
  readonly #exitHandlers = new Set<(status: ExitStatus, expected: boolean) => void>();

  /** Spawns the process at once; {@link ManagedProcess.ready} waits for it to be ready. */
  constructor(spec: ProcessSpec) {
    this.name = spec.name ?? nameOf(spec.bin);
    this.role = spec.role ?? 'other';
    this.spec = spec;
    this.#spawn();
  }

  /** Process id of the current run (also its process group id). */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Whether the current run has not exited. */
  get running(): boolean {
    return !this.#spawnFailed && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Whether {@link ManagedProcess.pause} stopped it (SIGSTOP) and it was not resumed. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Resolves when the current run has exited and its output is read. */
  get exited(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** Log lines kept so far, over every run (see {@link LogOptions.retain}). */
  get logs(): readonly LogLine[] {
    return this.#logs;
  }

  /** Log lines read so far, kept or not: a mark for {@link ManagedProcess.waitForLog}'s `after`. */
  get lineCount(): number {
    return this.#dropped + this.#logs.length;
  }

  /** What the process wrote to stderr (the last MiB). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Whether the current run ended without being stopped through this handle (it crashed, or was killed from outside). */
  get crashed(): boolean {
    return this.#crashed;
  }

  /** How many times the process was started (1 before any restart). */
  get starts(): number {
    return this.#starts;
  }

  /**
   * Calls `handler` whenever a run exits; `expected` is false when it was not
   * stopped through this handle (it crashed, or something else killed it).
   * Returns a function that removes the handler.
   */
  onExit(handler: (status: ExitStatus, expected: boolean) => void): () => void {
    this.#exitHandlers.add(handler);
    return () => this.#exitHandlers.delete(handler);
  }

  /**
   * Waits for a log line matching `match` (a message prefix or a predicate)
   * among the lines after the first `after` (a {@link ManagedProcess.lineCount}).
   * Rejects with a {@link LaunchError} when the process exits first or
   * `timeoutMs` pass; the message ends with the process's last output.
   */
  async waitForLog(match: LogMatch, timeoutMs = 15_000, after = 0): Promise<LogLine> {
    const test = matcherOf(match);
    const deadline = Date.now() + timeoutMs;
    let seen = after;
    for (;;) {
      for (let i = Math.max(0, seen - this.#dropped); i < this.#logs.length; i++) {
        const line = this.#logs[i]!;
        if (test(line)) return line;
      }
      seen = this.lineCount;
      if (!this.running) {
        // Lines may still sit in the pipe: read them before giving up.
        const status = await this.#exited;
        if (this.lineCount > seen) continue;
        throw new LaunchError(
          `${this.name} (pid ${this.pid}) exited (${describeExit(status)}) before logging ${describeMatch(match)}:\n${this.tail()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new LaunchError(
          `${this.name} did not log ${describeMatch(match)} within ${timeoutMs / 1000} s:\n${this.tail()}`,
        );
      }
      await this.#nextLine(left);
    }
  }

  /** The last lines of output, for error messages. */
  tail(lines = 20): string {
    const out = this.#logs.slice(-lines).map((l) => JSON.stringify(l));
    const err = this.#stderr
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
    return [...out, err].join('\n').trimEnd();
  }

  /** Sends `signal` to the whole process group (the process and everything it started). */
  signal(signal: NodeJS.Signals): void {
    if (signal !== 'SIGSTOP' && signal !== 'SIGCONT' && signal !== 'SIGTSTP') this.#expectExit = true;
    this.#signalGroup(signal);
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone: nothing left to signal.
    }
  }

  /** Freezes the process group (SIGSTOP): it stops heartbeating and answering, as a hung machine would. */
  pause(): void {
    this.signal('SIGSTOP');
    this.#paused = true;
  }

  /** Lets a paused process group run again (SIGCONT). */
  resume(): void {
    this.signal('SIGCONT');
    this.#paused = false;
  }

  /** `kill -9` of the process group; resolves when it has exited. */
  kill(): Promise<ExitStatus> {
    return this.stop('SIGKILL');
  }

  /**
   * Sends `signal` (SIGTERM by default) to the process group, waits up to
   * `graceMs` for the exit, then SIGKILLs the group; `graceMs` 0 SIGKILLs at
   * once. Whatever the process started is killed with it. Resolves with how
   * the process ended (at once if it already had).
   */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    graceMs = this.spec.graceMs ?? DEFAULT_GRACE_MS,
  ): Promise<ExitStatus> {
    this.#expectExit = true;
    if (this.running) {
      const first = graceMs <= 0 ? 'SIGKILL' : signal;
      this.signal(first);
      // A frozen process only handles SIGTERM once it runs again.
      if (this.#paused && first !== 'SIGKILL') this.resume();
      if (first !== 'SIGKILL') {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => {
            resolve('timeout');
          }, graceMs);
        });
        const winner = await Promise.race([this.#exited, timeout]);
        clearTimeout(timer);
        if (winner === 'timeout') this.signal('SIGKILL');
      }
    }
    return this.#exited;
  }

  /**
   * Stops the process (if it runs) and starts it again with the same
   * settings (a JobManager on the same port), then waits until it is ready.
   * The handle, its logs and its exit handlers stay.
   */
  async restart(): Promise<void> {
    await this.stop();
    const after = this.lineCount;
    this.#spawn();
    await this.whenReady(after);
  }

  /** Waits until the first run is ready (for a plain process: at once). */
  async ready(): Promise<this> {
    await this.whenReady(0);
    return this;
  }

  /** Waits for the run whose lines start after `after` to be ready; subclasses wait for their ready line. */
  protected whenReady(_after: number): Promise<void> {
    return Promise.resolve();
  }

  /** The ready timeout of this process. */
  protected get readyTimeoutMs(): number {
    return this.spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  }

  /** Stops the process (SIGTERM, then SIGKILL after the grace period). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #spawn(): void {
    const { bin, args = [], execArgv = [], env = {}, cwd, logs = {} } = this.spec;
    const child = spawn(process.execPath, [...execArgv, bin, ...args], {
      cwd,
      env: environment(env),
      // Its own process group: signals reach what it starts, and a terminal's Ctrl-C reaches only us.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#spawnFailed = false;
    this.#expectExit = false;
    this.#crashed = false;
    this.#paused = false;
    const file = logs.dir !== undefined ? this.#openLogFile(logs.dir) : undefined;
    this.#starts++;
    const retain = logs.retain ?? Infinity;
    const forward = logs.forward;
    createInterface({ input: child.stdout }).on('line', (raw) => {
      const line = readLine(raw);
      this.#logs.push(line.entry);
      if (this.#logs.length > retain * 2) {
        const drop = this.#logs.length - retain;
        this.#logs.splice(0, drop);
        this.#dropped += drop;
      }
      forward?.write(`${formatForTerminal(this.name, line)}\n`);
      file?.write(`${raw}\n`);
      this.#wake();
    });
    createInterface({ input: child.stderr }).on('line', (raw) => {
      this.#stderr += `${raw}\n`;
      if (this.#stderr.length > 2 * STDERR_KEEP) this.#stderr = this.#stderr.slice(-STDERR_KEEP);
      forward?.write(`[${this.name}] ${raw}\n`);
      file?.write(`${raw}\n`);
    });
    const closed = new Promise<void>((resolve) => {
      child.once('close', () => {
        resolve();
      });
    });
    this.#exited = new Promise<ExitStatus>((resolve) => {
      const finish = (status: ExitStatus): void => {
        const expected = this.#expectExit;
        this.#crashed = !expected;
        // Leftovers of the group (a grandchild) go with their leader.
        this.#signalGroup('SIGKILL');
        untrack(this);
        file?.end();
        resolve(status);
        this.#wake();
        for (const handler of [...this.#exitHandlers]) handler(status, expected);
      };
      child.once('exit', (code, signal) => {
        void Promise.race([closed, sleep(DRAIN_MS)]).then(() => {
          finish({ code, signal });
        });
      });
      child.once('error', (err) => {
        // Only a failed spawn ends without an exit event.
        if (child.pid !== undefined) return;
        this.#spawnFailed = true;
        this.#stderr += `${err.message}\n`;
        finish({ code: null, signal: null });
      });
    });
    if (child.pid !== undefined) track(this);
  }

  #openLogFile(dir: string): WriteStream {
    mkdirSync(dir, { recursive: true });
    return createWriteStream(join(dir, `${this.name}.log`), { flags: this.#starts === 0 ? 'w' : 'a' });
  }

  #nextLine(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wakers = this.#wakers;
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }
}

/** `code 2` or `SIGKILL`. */
export function describeExit(status: ExitStatus): string {
  return status.signal ?? `code ${status.code ?? '?'}`;
}
