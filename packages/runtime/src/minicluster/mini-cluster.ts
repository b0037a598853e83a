/**
 * The local mini-cluster: runs a JobGraph in worker threads of this process.
 *
 * Slots are worker threads. By default there are as many slots as the
 * largest vertex parallelism, capped at the machine's available parallelism
 * (so a parallelism-8 job on 2 cores runs in 2 slots); subtask `i` of every
 * vertex goes to slot `i mod slots` (slot sharing: a slot runs one subtask
 * of each vertex). Each worker re-runs the program's plan, checks the plan
 * hash, builds its subtasks and exchanges batches with the other slots over
 * one MessageChannel per pair of slots (all channels multiplexed, batches as
 * transferred buffers); subtasks of the same slot exchange in memory.
 *
 * A failed subtask cancels the others and the job ends FAILED with its
 * error; `signal` cancels it (CANCELED); `timeoutMs` fails it.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { JobGraph } from '@freshet/graph';
import { mergeAccumulators, type AccumulatorResult } from '../metrics/accumulators.js';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { SubtaskMetrics } from '../task/metrics.js';
import type { TaskSettings } from '../task/stream-task.js';
import type { ExecutorMessage, SlotWorkerData } from '../taskexecutor/messages.js';
import { connectSlots, startSlot, type SlotHandle } from '../taskexecutor/slot-host.js';

/** Metrics of a running or finished local job. */
export interface LocalJobMetrics {
  /** Latest metrics of every subtask. */
  subtasks: SubtaskMetrics[];
  /** Records emitted by source subtasks so far. */
  sourceRecords: number;
  /** Milliseconds since the job started running. */
  elapsedMs: number;
}

/** Options of {@link runLocalJob}. */
export interface LocalJobOptions {
  /** The program to re-plan in every worker. */
  program: ProgramSpec;
  /** The optimized job graph (its `planHash` must match the program's plan). */
  jobGraph: JobGraph;
  /** Worker threads. @default min(largest vertex parallelism, os.availableParallelism()) */
  slots?: number;
  /** Fails the job (FAILED, "timed out") after this long. @default no limit */
  timeoutMs?: number;
  /** Called about once a second while the job runs. */
  onMetrics?: (metrics: LocalJobMetrics) => void;
  /** Cancels the job (it ends CANCELED). */
  signal?: AbortSignal;
  /**
   * Module (file URL or specifier) exporting `loadStreamGraph(spec)`, and
   * optionally `computePlanHash(graph)` and `createOperator(node)`, used by
   * the workers instead of the program loader. For tests that build graphs by hand.
   */
  loader?: string;
  /** Task loop tuning. */
  settings?: Partial<TaskSettings>;
  /** Batches a consumer can hold per channel. @default 4 */
  initialCredits?: number;
  /** Id of the job that user functions see in their runtime context. @default a random UUID */
  jobId?: string;
}

/** How a local job ended. */
export interface LocalJobResult {
  /** The id user functions saw as `jobId`. */
  jobId: string;
  status: 'FINISHED' | 'FAILED' | 'CANCELED';
  /**
   * The job's accumulators, merged across subtasks by name (final values of
   * finished subtasks, the latest of the others); see `mergeAccumulators`.
   */
  accumulators: Record<string, AccumulatorResult>;
  /** Records of each collect sink, by collect id (per subtask in order; subtasks interleaved). */
  collected: Record<string, unknown[]>;
  error?: { message: string; stack?: string; operator?: string; subtask?: number; name?: string; vertex?: string };
  durationMs: number;
  metrics: LocalJobMetrics;
}

/** Default number of slots for a job graph. */
export function defaultSlots(jobGraph: JobGraph): number {
  const maxP = Math.max(1, ...jobGraph.vertices.map((v) => v.parallelism));
  return Math.max(1, Math.min(maxP, availableParallelism()));
}

/** Runs a job in worker threads of this process until it finishes, fails or is cancelled. */
export async function runLocalJob(opts: LocalJobOptions): Promise<LocalJobResult> {
  const started = performance.now();
  const jobId = opts.jobId ?? randomUUID();
  const slots = opts.slots ?? defaultSlots(opts.jobGraph);
  if (!(Number.isInteger(slots) && slots >= 1)) throw new RangeError(`slots must be a positive integer (got ${slots})`);

  // One MessageChannel per pair of slots.
  const peers = connectSlots(Array.from({ length: slots }, (_, i) => i));

  const collected: Record<string, unknown[]> = {};
  const latest = new Map<string, SubtaskMetrics>();
  const workers: SlotHandle[] = [];
  let runningSince = performance.now();
  const metricsNow = (): LocalJobMetrics => {
    const subtasks = [...latest.values()].sort((a, b) =>
      a.vertexId === b.vertexId ? a.subtask - b.subtask : a.vertexId < b.vertexId ? -1 : 1,
    );
    const sources = new Set(opts.jobGraph.vertices.filter((v) => v.isSource).map((v) => v.id));
    return {
      subtasks,
      sourceRecords: subtasks.filter((m) => sources.has(m.vertexId)).reduce((s, m) => s + m.recordsIn, 0),
      elapsedMs: performance.now() - runningSince,
    };
  };

  const broadcast = (m: ExecutorMessage): void => {
    for (const w of workers) w.post(m);
  };

  type Outcome = { status: LocalJobResult['status']; error?: SerializedError };
  let settle!: (o: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
  let done = false;
  const finish = (o: Outcome): void => {
    if (done) return;
    done = true;
    if (o.status !== 'FINISHED') broadcast({ type: 'cancel' });
    settle(o);
  };

  let ready = 0;
  let slotsFinished = 0;
  for (let slot = 0; slot < slots; slot++) {
    const data: SlotWorkerData = {
      slot,
      slots,
      jobId,
      jobGraph: opts.jobGraph,
      program: opts.program,
      peers: peers.get(slot)!,
      metricsIntervalMs: 1000,
    };
    if (opts.loader !== undefined) data.loader = opts.loader;
    if (opts.settings !== undefined) data.settings = opts.settings;
    if (opts.initialCredits !== undefined) data.initialCredits = opts.initialCredits;
    const worker = startSlot(data, Object.values(data.peers), `freshet-slot-${slot}`, {
      onMessage: (m) => {
        switch (m.type) {
          case 'ready':
            for (const id of m.collectIds) collected[id] ??= [];
            if (++ready === slots) {
              runningSince = performance.now();
              broadcast({ type: 'start' });
            }
            return;
          case 'collect': {
            const list = (collected[m.id] ??= []);
            for (const v of m.values) list.push(v);
            return;
          }
          case 'metrics':
            for (const s of m.metrics) latest.set(`${s.vertexId}#${s.subtask}`, s);
            return;
          case 'taskFinished':
            latest.set(`${m.metrics.vertexId}#${m.metrics.subtask}`, m.metrics);
            return;
          case 'slotFinished':
            if (++slotsFinished === slots) finish({ status: 'FINISHED' });
            return;
          case 'failed':
            finish({ status: 'FAILED', error: m.error });
            return;
          case 'checkpoint':
          case 'finalState':
          case 'declineCheckpoint':
            return;
        }
      },
      onError: (error) => {
        finish({ status: 'FAILED', error: { name: error.name, message: error.message, stack: error.stack ?? '' } });
      },
      onExit: (code) => {
        if (!done) finish({ status: 'FAILED', error: { name: 'Error', message: `slot ${slot} exited with code ${code}` } });
      },
    });
    workers.push(worker);
  }

  const onAbort = (): void => { finish({ status: 'CANCELED' }); };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout =
    opts.timeoutMs !== undefined
      ? setTimeout(
          () => { finish({ status: 'FAILED', error: { name: 'TimeoutError', message: `job timed out after ${opts.timeoutMs} ms` } }); },
          opts.timeoutMs,
        )
      : undefined;
  const metricsTimer = opts.onMetrics
    ? setInterval(() => {
        if (ready === slots) opts.onMetrics!(metricsNow());
      }, 1000)
    : undefined;

  const result = await outcome;
  clearTimeout(timeout);
  clearInterval(metricsTimer);
  opts.signal?.removeEventListener('abort', onAbort);

  // Let workers drain (stdout of print sinks) and exit on their own; terminate stragglers.
  broadcast({ type: 'shutdown' });
  const kill = setTimeout(() => {
    for (const w of workers) w.terminate();
  }, 2000);
  await Promise.all(workers.map((w) => w.exited));
  clearTimeout(kill);

  const finalMetrics = metricsNow();
  const out: LocalJobResult = {
    jobId,
    status: result.status,
    accumulators: mergeAccumulators(finalMetrics.subtasks.flatMap((m) => (m.accumulators ? [m.accumulators] : []))).results,
    collected,
    durationMs: performance.now() - started,
    metrics: finalMetrics,
  };
  if (result.error) {
    const e = result.error;
    const error: NonNullable<LocalJobResult['error']> = { message: e.message, name: e.name };
    if (e.stack !== undefined) error.stack = e.stack;
    if (e.operator !== undefined) error.operator = e.operator;
    if (e.subtask !== undefined) error.subtask = e.subtask;
    if (e.vertex !== undefined) error.vertex = e.vertex;
    out.error = error;
  }
  return out;
}
