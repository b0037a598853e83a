/**
 * A {@link SlotLauncher} that runs each job's slots in a child process of
 * their own (`job-process.ts`), isolated from the TaskManager as the plan
 * child is from the JobManager (`isolation.ts`):
 *
 * - **bubblewrap** where it works: new user, PID, IPC and UTS namespaces
 *   (and, unless the network is allowed, a new empty network namespace);
 *   only Node and the package tree are mounted, read-only, with the
 *   TaskManager's own directories hidden; a private tmpfs `/tmp`; the
 *   directories of `files` mounted read-write; a fresh `/proc`; every
 *   capability dropped; `--die-with-parent`.
 * - **Node's permission model**: reads of the package tree, the private
 *   directory and `files` only, writes of the latter two; worker threads
 *   (the slots), but no child processes and no native addons — except
 *   for a job on the disk state backend, whose store (LMDB) is a native
 *   addon: its process may load addons (`--allow-addons`), and only under
 *   bubblewrap, which then still confines the process (read-only package
 *   tree, namespaces, no capabilities); without bubblewrap such a job is
 *   refused rather than run with the permission model's file limits open
 *   to native code.
 * - **An empty environment**: no join secret, no session token.
 * - Without bubblewrap, for a root TaskManager, uid 65534.
 *
 * Limits: each slot's worker thread has a V8 heap limit; the whole process
 * tree a resident-memory limit (it is killed beyond it); and the child's
 * watchdog stops a slot whose user code has not returned in time. A job
 * process that dies for any reason fails its job's subtasks here — and
 * nothing else: the TaskManager's own process never runs user code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bwrapArgs,
  detectIsolation,
  fsGrants,
  type Isolation,
  type IsolationMode,
} from '../isolation/isolation.js';
import { processTree, treeRssBytes } from '../isolation/process-tree.js';
import { PacketConnection } from '../network/local/packet-connection.js';
import type { FromJobProcess, ToJobProcess } from './job-process-protocol.js';
import type { SlotHandle, SlotLauncher, SlotListener, SlotUplink, StartedSlots } from './slot-host.js';
import { siblingModule } from './spawn.js';
import { traceFilePattern } from './process-profiler.js';
import type { FlameNode } from '../profiling/flame-tree.js';

/** Options of {@link processSlots}. */
export interface ProcessSlotsOptions {
  /** V8 old-space limit of each slot's worker thread, in MiB. @default 512 */
  heapMiBPerSlot?: number;
  /** Resident-memory limit of one job's process tree, in MiB. @default 2 × heap × slots + 256 */
  memoryMiB?: number;
  /** A slot whose user code has not returned for this long is stopped (its job fails); 0: never. @default 60000 */
  watchdogMs?: number;
  /** Keep the host's network inside the sandbox (connectors that reach brokers or sockets). @default false */
  network?: boolean;
  /** Host directories the job's tasks may read and write (file sources and sinks). @default none */
  files?: readonly string[];
  /**
   * Host directory for the jobs' spill files (BATCH input grouped by key):
   * each job process gets `<spillDir>/<jobId>-<random>`, mounted read-write
   * in its sandbox, given to its tasks' settings (`groupedInputDir`), and removed when the
   * process exits. Without it spill files go to the job's `TMPDIR` (a small
   * tmpfs under bubblewrap). @default none
   */
  spillDir?: string;
  /** Host directories the tasks must not see even inside the package tree (the TaskManager's data directory). */
  hide?: readonly string[];
  /** @default 'auto' (bubblewrap when it works here) */
  isolation?: IsolationMode;
}

/** What isolates job processes with `options`, for the TaskManager's start-up log and the README. */
export function describeTaskSandbox(
  options: Pick<ProcessSlotsOptions, 'isolation' | 'network'> = {},
): string {
  const isolation = detectIsolation(options.isolation);
  const layers = ['a child process per job'];
  if (isolation.bwrap !== undefined)
    layers.push(
      `bubblewrap (user, pid, ipc${options.network === true ? '' : ', net'} namespaces${options.network === true ? '; host network' : ''})`,
    );
  if (isolation.permissionFlag !== undefined) layers.push(`node ${isolation.permissionFlag}`);
  layers.push('empty env');
  if (isolation.bwrap === undefined && isolation.runAs !== undefined)
    layers.push(`uid ${isolation.runAs.uid}`);
  if (isolation.bwrap === undefined) layers.push('no network or pid isolation (bubblewrap unavailable)');
  return layers.join(', ');
}

const jobProcessEntry = siblingModule(import.meta.url, 'job-process');

/** Node flags of the job process: its own small heap, and the permission model's grants. */
function execArgvOf(
  isolation: Isolation,
  workDir: string,
  files: readonly string[],
  allowAddons: boolean,
): string[] {
  // The trace file is where CPU profiles land (the inspector is closed in the sandbox: `process-profiler.ts`).
  const argv = [
    '--max-old-space-size=256',
    '--disable-warning=ExperimentalWarning',
    `--trace-event-file-pattern=${traceFilePattern(workDir)}`,
  ];
  if (isolation.permissionFlag !== undefined) {
    argv.push(isolation.permissionFlag, '--allow-worker');
    if (allowAddons) argv.push('--allow-addons');
    argv.push(...fsGrants([isolation.packageRoot, workDir, ...files], [workDir, ...files]));
  }
  return argv;
}

/**
 * Slots in a child process per job. Needs the built runtime (the child runs
 * `job-process.js`; a TypeScript entry would need a loader the permission
 * model forbids).
 */
export function processSlots(options: ProcessSlotsOptions = {}): SlotLauncher {
  const heapMiB = options.heapMiBPerSlot ?? 512;
  const watchdogMs = options.watchdogMs ?? 60_000;
  const files = options.files ?? [];
  return {
    start({ jobId, slots, remoteSlots, listener }): StartedSlots {
      if (jobProcessEntry.pathname.endsWith('.ts'))
        throw new Error(
          'Job processes run the built runtime (dist/taskexecutor/job-process.js); build first',
        );
      const isolation = detectIsolation(options.isolation);
      const memoryMiB = options.memoryMiB ?? 2 * heapMiB * slots.length + 256;
      const bundlePath = slots[0]?.program.bundlePath;
      if (bundlePath === undefined) throw new Error(`Job ${jobId} has no slot to start here`);
      const bundleSource = readFileSync(bundlePath, 'utf8');
      // Under bubblewrap the sandbox's own tmpfs; otherwise a fresh directory owned by the tasks' user.
      const hostDir = isolation.bwrap === undefined ? mkdtempSync(join(tmpdir(), 'freshet-job-')) : undefined;
      if (hostDir !== undefined && isolation.runAs !== undefined)
        chownSync(hostDir, isolation.runAs.uid, isolation.runAs.gid);
      // Under bubblewrap a directory of its own inside the private /tmp, the only part of /tmp the job may
      // write: a sink pointed at a /tmp path that is not one of --task-files then fails loudly
      // (ERR_ACCESS_DENIED) instead of writing into the sandbox's tmpfs, which vanishes with the job.
      const workDir = hostDir ?? `/tmp/freshet-job-${randomUUID()}`;
      const spillDir =
        options.spillDir === undefined ? undefined : join(options.spillDir, `${jobId}-${randomUUID()}`);
      if (spillDir !== undefined) {
        mkdirSync(spillDir, { recursive: true });
        if (isolation.bwrap === undefined && isolation.runAs !== undefined)
          chownSync(spillDir, isolation.runAs.uid, isolation.runAs.gid);
      }
      const jobFiles = spillDir === undefined ? files : [...files, spillDir];
      const diskState = slots.some((s) => s.jobGraph.stateBackend === 'disk');
      if (diskState && isolation.bwrap === undefined && isolation.permissionFlag !== undefined) {
        throw new Error(
          `Job ${jobId} uses the disk state backend, whose store is a native addon; this TaskManager runs ` +
            "tasks without bubblewrap, where only Node's permission model (no native addons) isolates them. " +
            "Install bubblewrap on the TaskManager's host, or run the job with --state-backend heap",
        );
      }
      const execArgv = execArgvOf(isolation, workDir, jobFiles, diskState);
      const entry = fileURLToPath(jobProcessEntry);
      const command =
        isolation.bwrap === undefined
          ? { file: process.execPath, args: [...execArgv, entry] }
          : {
              file: isolation.bwrap,
              args: [
                ...bwrapArgs(isolation.packageRoot, options.hide, {
                  network: options.network === true,
                  binds: jobFiles,
                }),
                '--dir',
                workDir,
                '--',
                process.execPath,
                ...execArgv,
                entry,
              ],
            };
      const child: ChildProcess = spawn(command.file, command.args, {
        // Nothing of the TaskManager's environment: no join secret, no session, no DATABASE_URL.
        env: { TMPDIR: workDir },
        // Piped, not inherited: what the tasks print goes through the TaskManager's own streams, so it
        // reaches its stdout as before and the TaskManager's output capture (the dashboard's Stdout tab) sees it.
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
        // Under bubblewrap the tasks are uid 65534 inside a user namespace of the TaskManager's user
        // (files they write in `files` belong to it); without it, a root TaskManager's tasks run as 65534.
        ...(isolation.bwrap === undefined && isolation.runAs !== undefined ? isolation.runAs : {}),
      });
      child.stdout?.pipe(process.stdout, { end: false });
      child.stderr?.pipe(process.stderr, { end: false });
      const toChild = (message: ToJobProcess): void => {
        if (!child.connected) return;
        try {
          child.send(message);
        } catch {
          // The job process is gone; its exit fails the slots.
        }
      };

      const live = new Map<number, { listener: SlotListener; exited: () => void }>();
      const handles = new Map<number, SlotHandle>();
      const uplinks = new Map<number, SlotUplink>();
      const uplinkEnds = new Map<number, { conn: PacketConnection; closed: () => void }>();
      for (const spec of slots) {
        const s = spec.slot;
        let exited!: () => void;
        const done = new Promise<void>((resolve) => (exited = resolve));
        live.set(s, { listener: listener(s), exited });
        handles.set(s, {
          post: (m) => {
            toChild({ t: 'm', s, m });
          },
          exited: done,
          terminate: () => {
            toChild({ t: 'k', s });
          },
        });
        if (remoteSlots.length > 0) {
          const conn = new PacketConnection((packet) => {
            toChild({ t: 'u', s, ...packet });
          });
          let closed!: () => void;
          uplinks.set(s, { conn, closed: new Promise<void>((resolve) => (closed = resolve)) });
          uplinkEnds.set(s, { conn, closed });
        }
      }

      const profiles = new Map<number, { resolve: (t: FlameNode) => void; reject: (e: Error) => void }>();
      let profileIds = 0;
      let killedFor: string | undefined;
      // Under bubblewrap the job's Node process is a grandchild: watch the whole tree, looked up now and then.
      let tree: number[] = [];
      const exitSlot = (s: number, code: number): void => {
        const slot = live.get(s);
        if (slot === undefined) return;
        live.delete(s);
        uplinkEnds.get(s)?.closed();
        slot.listener.onExit(code);
        slot.exited();
      };
      child.on('message', (m: FromJobProcess) => {
        switch (m.t) {
          case 'w':
            live.get(m.s)?.listener.onMessage(m.m);
            return;
          case 'e': {
            const error = new Error(m.error.message);
            error.name = m.error.name;
            if (m.error.stack !== undefined) error.stack = m.error.stack;
            live.get(m.s)?.listener.onError(error);
            return;
          }
          case 'x':
            exitSlot(m.s, m.code);
            return;
          case 'u':
            uplinkEnds.get(m.s)?.conn.deliver(m);
            return;
          case 'uc':
            uplinkEnds.get(m.s)?.closed();
            return;
          case 'prof': {
            const pending = profiles.get(m.id);
            profiles.delete(m.id);
            if (m.tree !== undefined) pending?.resolve(m.tree);
            else pending?.reject(new Error(m.error ?? 'The CPU profile failed'));
          }
        }
      });
      const watchMemory = setInterval(() => {
        if (child.pid === undefined || killedFor !== undefined) return;
        const rss = treeRssBytes(tree.length > 0 ? tree : [child.pid]);
        if (rss > memoryMiB * 1024 * 1024) {
          killedFor = `The job's process on this TaskManager used ${Math.round(rss / 1024 / 1024)} MiB, over its limit of ${memoryMiB} MiB (TaskManager setting --task-memory-mib); it was stopped`;
          child.kill('SIGKILL');
        }
      }, 250);
      watchMemory.unref();
      const lookUpTree = setInterval(() => {
        if (child.pid !== undefined) tree = processTree(child.pid);
      }, 2000);
      lookUpTree.unref();
      setTimeout(() => {
        if (child.pid !== undefined) tree = processTree(child.pid);
      }, 300).unref();
      child.once('exit', (code, signal) => {
        clearInterval(watchMemory);
        clearInterval(lookUpTree);
        const reason =
          killedFor ??
          `The job's process on this TaskManager ended (${signal === null ? `exit code ${code ?? '?'}` : signal}) while its slots ran`;
        for (const [s, slot] of [...live]) {
          const error = new Error(reason);
          error.name = killedFor === undefined ? 'JobProcessExitError' : 'JobProcessMemoryError';
          slot.listener.onError(error);
          exitSlot(s, code ?? 1);
        }
        for (const p of profiles.values()) p.reject(new Error(reason));
        profiles.clear();
        if (hostDir !== undefined) rmSync(hostDir, { recursive: true, force: true });
        if (spillDir !== undefined) rmSync(spillDir, { recursive: true, force: true });
      });
      child.once('error', (error) => {
        for (const slot of live.values()) slot.listener.onError(error);
      });

      toChild({
        t: 'init',
        jobId,
        bundleSource,
        workDir,
        ...(spillDir === undefined ? {} : { spillDir }),
        slots: [...slots],
        remoteSlots: [...remoteSlots],
        heapMiB,
        watchdogMs,
      });
      return {
        handles,
        uplinks,
        profile: (durationMs) =>
          new Promise<FlameNode>((resolve, reject) => {
            if (!child.connected) {
              reject(new Error('The job process is gone'));
              return;
            }
            const id = ++profileIds;
            profiles.set(id, { resolve, reject });
            toChild({ t: 'prof', id, durationMs });
          }),
        dispose: () => {
          toChild({ t: 'bye' });
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          }, 3000).unref();
        },
      };
    },
  };
}
