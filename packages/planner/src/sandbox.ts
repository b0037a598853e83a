/**
 * Plan mode in an isolated child process: the program only builds its
 * StreamGraph, under a time limit, a heap limit and an empty environment
 * (no DATABASE_URL, no secrets). Whatever the program does (loop forever,
 * allocate without bound, throw, exit), the caller gets a StreamGraph or a
 * {@link PlanError} and lives on.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StreamGraphJson } from '@freshet/graph';
import { defineErrorClass, errorFromJSON, InvalidProgramError, type ErrorJSON } from '@freshet/errors';
import { computePlanHash } from '@freshet/runtime';
import type { ChildReply, ChildRequest, PlanOverrides } from './child-protocol.js';
import { findHostPackageDir, planChildScript, runningFromSources } from './host.js';

export type { PlanOverrides } from './child-protocol.js';

/** Limits of one plan run. */
export interface PlanLimits {
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

function tsxImportUrl(): string {
  const dir = findHostPackageDir('tsx');
  if (!dir) throw new Error('tsx is needed to plan from TypeScript sources; install it in @freshet/planner');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  const entry = pkg.exports?.['.'];
  return pathToFileURL(join(dir, typeof entry === 'string' ? entry : 'dist/loader.mjs')).href;
}

function childExecArgv(maxOldSpaceMiB: number): string[] {
  const argv = [`--max-old-space-size=${maxOldSpaceMiB}`, '--enable-source-maps'];
  // From sources (Vitest, tsx) the child is a .ts file and the workspace packages resolve to their sources.
  if (runningFromSources) argv.push('--conditions=@freshet/source', '--import', tsxImportUrl());
  return argv;
}

/** Resident set size of a process in bytes, where /proc exists. */
function rssBytes(pid: number): number | undefined {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return undefined;
  }
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
  if (!existsSync(absBundle)) return Promise.reject(new PlanError(`Program bundle ${bundlePath} does not exist`, 'crash', '', ''));

  return new Promise<PlanResult>((resolvePlan, rejectPlan) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    let killedFor: 'timeout' | 'memory' | 'aborted' | 'startup' | undefined;
    let startedAt = 0;
    let reply: ChildReply | undefined;
    const timers: NodeJS.Timeout[] = [];

    const child: ChildProcess = fork(planChildScript, [], {
      execPath: process.execPath,
      execArgv: childExecArgv(maxOldSpaceMiB),
      // Nothing of the host's environment: no DATABASE_URL, no tokens.
      env: {},
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
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

    timers.push(setTimeout(() => {
      kill('startup');
    }, startupTimeoutMs));
    const poll = setInterval(() => {
      const rss = child.pid === undefined ? undefined : rssBytes(child.pid);
      if (rss !== undefined && rss > maxRss) kill('memory');
    }, 100);
    timers.push(poll);

    child.on('message', (message: ChildReply) => {
      if (message.type === 'ready') {
        clearTimeout(timers[0]);
        startedAt = performance.now();
        timers.push(setTimeout(() => {
          kill('timeout');
        }, timeoutMs));
        const request: ChildRequest = { bundlePath: absBundle, args, overrides };
        child.send(request);
        return;
      }
      reply = message;
    });

    child.on('error', (err) => {
      finish(new PlanError(`The plan child could not run: ${err.message}`, 'crash', stdout, stderr));
    });

    child.on('exit', (code, signal) => {
      const durationMs = startedAt ? performance.now() - startedAt : 0;
      const oom = /heap out of memory|Reached heap limit|Allocation failed/i.test(stderr);
      if (reply?.type === 'graph') {
        finish({ graph: reply.graph, planHash: computePlanHash(reply.graph), stdout, stderr, durationMs });
      } else if (reply?.type === 'error') {
        const e = reply.error;
        const detail = e.stack && e.stack.length > 0 ? e.stack : `${e.name}: ${e.message}`;
        finish(new PlanError(`Program failed while planning: ${detail}`, 'exception', stdout, stderr, e));
      } else if (killedFor === 'timeout') {
        finish(new PlanError(`Program did not finish planning within ${timeoutMs} ms (infinite loop?)`, 'timeout', stdout, stderr));
      } else if (killedFor === 'memory' || oom) {
        finish(
          new PlanError(`Program exceeded the ${maxOldSpaceMiB} MiB memory limit while planning`, 'memory', stdout, stderr),
        );
      } else if (killedFor === 'aborted') {
        finish(new PlanError('Planning was cancelled', 'aborted', stdout, stderr));
      } else if (killedFor === 'startup') {
        finish(new PlanError(`The plan child did not start within ${startupTimeoutMs} ms`, 'crash', stdout, stderr));
      } else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const tail = stderr.trim() ? `\n${stderr.trim()}` : '';
        finish(new PlanError(`Program ended the plan process before building its graph (it ${how})${tail}`, 'crash', stdout, stderr));
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
