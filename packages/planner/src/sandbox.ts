/**
 * Plan mode in an isolated child process: the program only builds its
 * StreamGraph, under a time limit, a memory limit, an empty environment and
 * the isolation of `isolation.ts` (bubblewrap namespaces where available,
 * Node's permission model, an unprivileged user). Whatever the program does
 * (loop forever, allocate without bound, throw, exit, read the host's
 * `/proc`, signal it, open sockets, spawn processes, write files), the
 * caller gets a StreamGraph or a {@link PlanError} and lives on.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StreamGraphJson } from '@freshet/graph';
import { defineErrorClass, errorFromJSON, InvalidProgramError, type ErrorJSON } from '@freshet/errors';
import type { ChildReply, ChildRequest, PlanOverrides } from './child-protocol.js';
import { planChildEntry } from './host.js';
import {
  bwrapArgs,
  computePlanHash,
  detectIsolation,
  fsGrants,
  processTree,
  rssBytes,
  type IsolationMode,
} from '@freshet/runtime';

export type { PlanOverrides } from './child-protocol.js';

/** How a host wants its plan children isolated. */
export interface PlanSandboxOptions {
  /** Directories the program must not see even inside the package tree (the host's data directory). */
  hide?: readonly string[];
  /** @default 'auto' (bubblewrap when it works here) */
  isolation?: IsolationMode;
}

/** Limits of one plan run. */
export interface PlanLimits extends PlanSandboxOptions {
  /** Time the program may take to build its graph (after the child started). @default 10000 */
  timeoutMs?: number;
  /** V8 old-space limit of the child (`--max-old-space-size`), in MiB. @default 256 */
  maxOldSpaceMiB?: number;
  /**
   * Resident-set ceiling of the child in MiB, checked by polling (Linux), for
   * memory outside the V8 heap (ArrayBuffers). @default 2 × maxOldSpaceMiB + 256
   */
  maxRssMiB?: number;
  /** Time the child may take to start before it is considered broken. @default 30000 */
  startupTimeoutMs?: number;
  /** Cancels the plan run (the child is killed). */
  signal?: AbortSignal;
}

/** Why a plan run failed. */
export type PlanFailureReason = 'timeout' | 'memory' | 'exception' | 'crash' | 'aborted';

/** {@link PlanError.details}. */
export interface PlanErrorDetails {
  /** What happened. */
  reason: PlanFailureReason;
  /** What the program printed on stdout (truncated). */
  stdout: string;
  /** What the program (or Node) printed on stderr (truncated). */
  stderr: string;
  /** For `exception`: the program's error as sent by the child, its stack source-mapped to the program's files. */
  programError?: ErrorJSON;
}

/**
 * A plan run that produced no StreamGraph. Code `INVALID_PROGRAM`. For an
 * `exception`, `cause` is the program's own error, rebuilt from what the
 * child sent (a `ProgramDefinitionError` stays one).
 */
export class PlanError extends InvalidProgramError<PlanErrorDetails> {
  static {
    defineErrorClass(this, 'PlanError', 'INVALID_PROGRAM');
  }

  constructor(
    message: string,
    reason: PlanFailureReason,
    stdout: string,
    stderr: string,
    programError?: ErrorJSON,
  ) {
    const details: PlanErrorDetails = { reason, stdout, stderr };
    if (programError === undefined) {
      super(message, { details });
    } else {
      details.programError = programError;
      super(message, { details, cause: errorFromJSON(programError) });
    }
  }

  /** What happened. */
  get reason(): PlanFailureReason {
    return this.details.reason;
  }

  /** What the program printed on stdout (truncated). */
  get stdout(): string {
    return this.details.stdout;
  }

  /** What the program (or Node) printed on stderr (truncated). */
  get stderr(): string {
    return this.details.stderr;
  }

  /** For `exception`: the program's error, its stack source-mapped to the program's files. */
  get programError(): ErrorJSON | undefined {
    return this.details.programError;
  }
}

/** A successful plan run. */
export interface PlanResult {
  graph: StreamGraphJson;
  /** {@link computePlanHash} of `graph`. */
  planHash: string;
  stdout: string;
  stderr: string;
  /** Time from request to reply, excluding the child's start-up. */
  durationMs: number;
}

const OUTPUT_LIMIT = 64 * 1024;

function childExecArgv(
  maxOldSpaceMiB: number,
  permissionFlag: string | undefined,
  readable: string[],
  workDir: string,
): string[] {
  const argv = [
    `--max-old-space-size=${maxOldSpaceMiB}`,
    '--enable-source-maps',
    '--disable-warning=ExperimentalWarning',
  ];
  if (permissionFlag !== undefined) {
    // Reads of the package tree and the private directory, writes only there; no child processes or workers.
    argv.push(permissionFlag, ...fsGrants([...readable, workDir], [workDir]));
  }
  return argv;
}

/** The private directory of one plan run, outside bubblewrap (inside, it is the sandbox's own tmpfs /tmp). */
async function privateDir(owner: { uid: number; gid: number } | undefined): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'freshet-plan-'));
  if (owner !== undefined) await chown(dir, owner.uid, owner.gid);
  return dir;
}

/** The isolation layers plan children get in this process, for the host's start-up log. */
export function describePlanSandbox(mode: IsolationMode = 'auto'): string {
  return detectIsolation(mode).description;
}

/**
 * Runs a bundle's plan in a fresh child process and returns its StreamGraph
 * (as JSON, functions dropped) with its plan hash. Rejects with a
 * {@link PlanError}: `Program did not finish planning within 10000 ms
 * (infinite loop?)`, `Program exceeded the 256 MiB memory limit while
 * planning`, or the program's own exception with its source-mapped stack.
 */
export function planInSandbox(
  bundlePath: string,
  args: string[] = [],
  overrides: PlanOverrides = {},
  limits: PlanLimits = {},
): Promise<PlanResult> {
  const timeoutMs = limits.timeoutMs ?? 10_000;
  const maxOldSpaceMiB = limits.maxOldSpaceMiB ?? 256;
  const maxRss = (limits.maxRssMiB ?? 2 * maxOldSpaceMiB + 256) * 1024 * 1024;
  const startupTimeoutMs = limits.startupTimeoutMs ?? 30_000;
  const absBundle = resolve(bundlePath);
  if (!existsSync(absBundle))
    return Promise.reject(new PlanError(`Program bundle ${bundlePath} does not exist`, 'crash', '', ''));
  const isolation = detectIsolation(limits.isolation);

  return (async () => {
    const bundleSource = await readFile(absBundle, 'utf8');
    // Inside bubblewrap the sandbox's own tmpfs; otherwise a fresh directory only the child's user owns.
    const hostDir = isolation.bwrap === undefined ? await privateDir(isolation.runAs) : undefined;
    const workDir = hostDir ?? '/tmp';
    const execArgv = childExecArgv(
      maxOldSpaceMiB,
      isolation.permissionFlag,
      [isolation.packageRoot],
      workDir,
    );
    const planChildScript = await planChildEntry();
    const command =
      isolation.bwrap === undefined
        ? { file: process.execPath, args: [...execArgv, planChildScript] }
        : {
            file: isolation.bwrap,
            args: [
              ...bwrapArgs(isolation.packageRoot, limits.hide),
              '--',
              process.execPath,
              ...execArgv,
              planChildScript,
            ],
          };
    try {
      return await runChild(command, { bundlePath: absBundle, bundleSource, workDir, args, overrides });
    } finally {
      if (hostDir !== undefined) await rm(hostDir, { recursive: true, force: true });
    }
  })();

  function runChild(command: { file: string; args: string[] }, request: ChildRequest): Promise<PlanResult> {
    return new Promise<PlanResult>((resolvePlan, rejectPlan) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      let killedFor: 'timeout' | 'memory' | 'aborted' | 'startup' | undefined;
      let startedAt = 0;
      let reply: ChildReply | undefined;
      let tree: number[] = [];
      const timers: NodeJS.Timeout[] = [];

      const child: ChildProcess = spawn(command.file, command.args, {
        // Nothing of the host's environment: no DATABASE_URL, no tokens. (Node adds only the IPC channel's fd.)
        env: {},
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
        ...(isolation.runAs ?? {}),
      });
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        if (stdout.length < OUTPUT_LIMIT) stdout += chunk.slice(0, OUTPUT_LIMIT - stdout.length);
      });
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        // Keep the tail: V8's out-of-memory report comes last.
        stderr = (stderr + chunk).slice(-OUTPUT_LIMIT);
      });

      const kill = (why: NonNullable<typeof killedFor>): void => {
        if (killedFor === undefined) killedFor = why;
        child.kill('SIGKILL');
      };
      const onAbort = (): void => {
        kill('aborted');
      };
      limits.signal?.addEventListener('abort', onAbort, { once: true });
      if (limits.signal?.aborted) kill('aborted');

      timers.push(
        setTimeout(() => {
          kill('startup');
        }, startupTimeoutMs),
      );
      const poll = setInterval(() => {
        if (child.pid === undefined) return;
        // Under bubblewrap the program is a grandchild: watch the whole tree once it is known.
        const pids = tree.length > 0 ? tree : [child.pid];
        let rss = 0;
        for (const pid of pids) rss += rssBytes(pid) ?? 0;
        if (rss > maxRss) kill('memory');
      }, 100);
      timers.push(poll);

      child.on('message', (message: ChildReply) => {
        if (message.type === 'ready') {
          clearTimeout(timers[0]);
          startedAt = performance.now();
          if (isolation.bwrap !== undefined && child.pid !== undefined) tree = processTree(child.pid);
          timers.push(
            setTimeout(() => {
              kill('timeout');
            }, timeoutMs),
          );
          child.send(request);
          return;
        }
        // The answer settles the run at once: the child's exit may be seen before its last message.
        reply = message;
        settleWithReply(message, performance.now() - startedAt);
      });

      child.on('error', (err) => {
        finish(new PlanError(`The plan child could not run: ${err.message}`, 'crash', stdout, stderr));
      });

      function settleWithReply(message: ChildReply, durationMs: number): void {
        if (message.type === 'graph') {
          finish({
            graph: message.graph,
            planHash: computePlanHash(message.graph),
            stdout,
            stderr,
            durationMs,
          });
        } else if (message.type === 'error') {
          const e = message.error;
          const detail = e.stack && e.stack.length > 0 ? e.stack : `${e.name}: ${e.message}`;
          finish(new PlanError(`Program failed while planning: ${detail}`, 'exception', stdout, stderr, e));
        }
      }

      // 'close', not 'exit': it comes after the child's stdio and IPC channel are drained, so a reply
      // sent just before exiting is never taken for a crash.
      child.on('close', (code, signal) => {
        const oom = /heap out of memory|Reached heap limit|Allocation failed/i.test(stderr);
        if (reply !== undefined && reply.type !== 'ready') {
          settleWithReply(reply, startedAt ? performance.now() - startedAt : 0);
        } else if (killedFor === 'timeout') {
          finish(
            new PlanError(
              `Program did not finish planning within ${timeoutMs} ms (infinite loop?)`,
              'timeout',
              stdout,
              stderr,
            ),
          );
        } else if (killedFor === 'memory' || oom) {
          finish(
            new PlanError(
              `Program exceeded the ${maxOldSpaceMiB} MiB memory limit while planning`,
              'memory',
              stdout,
              stderr,
            ),
          );
        } else if (killedFor === 'aborted') {
          finish(new PlanError('Planning was cancelled', 'aborted', stdout, stderr));
        } else if (killedFor === 'startup') {
          finish(
            new PlanError(
              `The plan child did not start within ${startupTimeoutMs} ms`,
              'crash',
              stdout,
              stderr,
            ),
          );
        } else {
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const tail = stderr.trim() ? `\n${stderr.trim()}` : '';
          finish(
            new PlanError(
              `Program ended the plan process before building its graph (it ${how})${tail}`,
              'crash',
              stdout,
              stderr,
            ),
          );
        }
      });

      function finish(outcome: PlanResult | PlanError): void {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        clearInterval(poll);
        limits.signal?.removeEventListener('abort', onAbort);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (outcome instanceof PlanError) rejectPlan(outcome);
        else resolvePlan(outcome);
      }
    });
  }
}
