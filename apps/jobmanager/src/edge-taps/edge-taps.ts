/**
 * Edge taps as the JobManager keeps them: which edges the dashboard watches,
 * the records the TaskManagers sampled there (a bounded buffer per tap,
 * numbered for polling), and the `tapEdge` commands that start and renew
 * the sampling at the producing subtasks. A tap lives while it is polled:
 * each poll renews it, and one not polled for its time to live is dropped
 * here and ends by itself at the TaskManagers (their taps carry the same
 * time to live), so a closed browser tab stops costing within seconds.
 */
import { NotFoundError } from '@freshet/errors';
import {
  MAX_TAP_RATE,
  type ReportTapSamplesInput,
  type ReportTapSamplesOutput,
  type TaskManagerCommand,
} from '@freshet/protocol';
import type { ClusterRegistry } from '../cluster/registry.js';
import type { CommandHub } from '../jobs/commands.js';
import { TERMINAL, TERMINAL_JOB } from '../jobs/execution-graph.js';
import type { ActiveJob } from '../jobs/scheduler.js';

/** One sampled record, as `taps.poll` returns it. */
export interface TapRecord {
  /** 1, 2, 3… per tap, in arrival order. */
  seq: number;
  /** Epoch ms when the JobManager received it. */
  at: number;
  /** The producing subtask. */
  vertexId: string;
  subtask: number;
  /** The record's event timestamp; null when it has none. */
  timestamp: number | null;
  /** The record as (bounded) JSON text. */
  preview: string;
  truncated: boolean;
}

/** `taps.poll`'s answer. */
export interface EdgeTapView {
  jobId: string;
  edgeId: string;
  /** The edge's producing and consuming vertices. */
  source: string;
  target: string;
  /** The edge's partitioning. */
  partitioning: string;
  /** Sampled records after `after`, oldest first. */
  records: TapRecord[];
  /** The highest seq so far: pass it as `after` next time. */
  latestSeq: number;
  /** Producing subtasks the tap was sent to (running ones of the current attempt). */
  subtasks: number;
  /** Records per second and producing subtask the tap takes. */
  maxPerSecond: number;
  /** How long the tap lives without another poll, ms. */
  ttlMs: number;
}

interface Tap {
  jobId: string;
  edgeId: string;
  source: string;
  lastPolledAt: number;
  /** When `tapEdge` went out last, and for which attempt and rate (a change sends it again at once). */
  sentAt: number;
  sentAttempt: number;
  maxPerSecond: number;
  /** TaskManager id -> attempt the commands went to (for `untapEdge`). */
  targets: Map<string, number>;
  ring: TapRecord[];
  seq: number;
}

/** Options of {@link EdgeTaps}. */
export interface EdgeTapsOptions {
  jobs: { active(jobId: string): ActiveJob | undefined };
  registry: Pick<ClusterRegistry, 'requireSession' | 'hasSession'>;
  commands: Pick<CommandHub, 'push'>;
  /** A tap not polled for this long ends. @default 10000 */
  ttlMs?: number;
  /** Taps watched at once over every job (the least recently polled goes first). @default 32 */
  maxTaps?: number;
  /** Sampled records kept per tap. @default 500 */
  recordsPerTap?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Records per second and producing subtask a tap takes unless asked otherwise. */
export const DEFAULT_TAP_RATE = 5;

/** The edge taps of this JobManager. */
export class EdgeTaps {
  readonly #o: EdgeTapsOptions;
  readonly #ttl: number;
  readonly #taps = new Map<string, Tap>();

  constructor(options: EdgeTapsOptions) {
    this.#o = options;
    this.#ttl = options.ttlMs ?? 10_000;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Taps watched now. */
  get size(): number {
    this.#sweep();
    return this.#taps.size;
  }

  /**
   * Starts or renews the tap of edge `edgeId` of a running job and returns
   * the records sampled after seq `after`. Throws NotFoundError for a job
   * that does not run here or an edge it does not have.
   */
  poll(jobId: string, edgeId: string, after: number, maxPerSecond = DEFAULT_TAP_RATE): EdgeTapView {
    const job = this.#o.jobs.active(jobId);
    if (job === undefined || TERMINAL_JOB.has(job.graph.status))
      throw new NotFoundError(
        `Job ${JSON.stringify(jobId)} is not running on this JobManager: only a running job's edges can be tapped`,
      );
    const edge = job.graph.jobGraph.edges.find((e) => e.id === edgeId);
    if (edge === undefined) {
      const ids = job.graph.jobGraph.edges.map((e) => e.id).join(', ') || 'none';
      throw new NotFoundError(
        `Job ${JSON.stringify(jobId)} has no edge ${JSON.stringify(edgeId)}; its edges: ${ids}`,
      );
    }
    this.#sweep();
    const now = this.#now();
    const rate = Math.min(Math.max(1, Math.floor(maxPerSecond)), MAX_TAP_RATE);
    const key = `${jobId}\u0000${edgeId}`;
    let tap = this.#taps.get(key);
    if (tap === undefined) {
      this.#makeRoom();
      tap = {
        jobId,
        edgeId,
        source: edge.source,
        lastPolledAt: now,
        sentAt: Number.NEGATIVE_INFINITY,
        sentAttempt: -1,
        maxPerSecond: rate,
        targets: new Map(),
        ring: [],
        seq: 0,
      };
      this.#taps.set(key, tap);
    }
    tap.lastPolledAt = now;
    const producers = job.graph
      .vertices()
      .filter(
        (v) =>
          v.vertexId === edge.source && !TERMINAL.has(v.current.state) && v.current.taskManagerId !== null,
      );
    const attempt = Math.max(-1, ...producers.map((v) => v.current.attempt));
    // Renewed well before the TaskManagers' copy expires; at once when the attempt or the rate changed.
    if (now - tap.sentAt >= this.#ttl / 3 || attempt !== tap.sentAttempt || rate !== tap.maxPerSecond) {
      tap.maxPerSecond = rate;
      tap.sentAt = now;
      tap.sentAttempt = attempt;
      const sent = new Set<string>();
      for (const v of producers) {
        const tm = v.current.taskManagerId!;
        const key2 = `${tm}#${v.current.attempt}`;
        if (sent.has(key2) || !this.#o.registry.hasSession(tm)) continue;
        sent.add(key2);
        tap.targets.set(tm, v.current.attempt);
        this.#send(tm, {
          type: 'tapEdge',
          jobId,
          attempt: v.current.attempt,
          edgeId,
          ttlMs: this.#ttl,
          maxPerSecond: rate,
        });
      }
    }
    const records = tap.ring.filter((r) => r.seq > after);
    return {
      jobId,
      edgeId,
      source: edge.source,
      target: edge.target,
      partitioning: edge.partitioning,
      records,
      latestSeq: tap.seq,
      subtasks: producers.length,
      maxPerSecond: rate,
      ttlMs: this.#ttl,
    };
  }

  /** Ends the tap of edge `edgeId` at once (the panel closed); whether there was one. */
  stop(jobId: string, edgeId: string): boolean {
    const key = `${jobId}\u0000${edgeId}`;
    const tap = this.#taps.get(key);
    if (tap === undefined) return false;
    this.#taps.delete(key);
    this.#untap(tap);
    return true;
  }

  /**
   * `executions.reportTapSamples`: keeps the samples of a watched tap that
   * come from the current producing subtasks on the reporting TaskManager
   * (a stale attempt's, or another vertex's, are dropped).
   */
  report(input: ReportTapSamplesInput): ReportTapSamplesOutput {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    this.#sweep();
    const tap = this.#taps.get(`${input.jobId}\u0000${input.edgeId}`);
    const job = this.#o.jobs.active(input.jobId);
    if (tap === undefined || job === undefined) return { accepted: 0, wanted: false };
    const cap = this.#o.recordsPerTap ?? 500;
    const at = this.#now();
    let accepted = 0;
    for (const s of input.samples) {
      if (s.vertexId !== tap.source) continue;
      if (!job.graph.isCurrent(s.vertexId, s.subtask, input.attempt, input.taskManagerId)) continue;
      tap.ring.push({ seq: ++tap.seq, at, ...s });
      accepted++;
    }
    if (tap.ring.length > cap) tap.ring.splice(0, tap.ring.length - cap);
    return { accepted, wanted: true };
  }

  #send(taskManagerId: string, command: TaskManagerCommand): void {
    if (this.#o.registry.hasSession(taskManagerId)) this.#o.commands.push(taskManagerId, command);
  }

  #untap(tap: Tap): void {
    for (const [tm, attempt] of tap.targets)
      this.#send(tm, { type: 'untapEdge', jobId: tap.jobId, attempt, edgeId: tap.edgeId });
  }

  /** Drops the taps nobody polled for their time to live (the TaskManagers' copies expire by themselves). */
  #sweep(): void {
    const now = this.#now();
    for (const [key, tap] of this.#taps) if (now - tap.lastPolledAt > this.#ttl) this.#taps.delete(key);
  }

  /** Ends the least recently polled tap when the maximum is reached. */
  #makeRoom(): void {
    if (this.#taps.size < (this.#o.maxTaps ?? 32)) return;
    let oldest: [string, Tap] | undefined;
    for (const entry of this.#taps)
      if (oldest === undefined || entry[1].lastPolledAt < oldest[1].lastPolledAt) oldest = entry;
    if (oldest === undefined) return;
    this.#taps.delete(oldest[0]);
    this.#untap(oldest[1]);
  }
}
