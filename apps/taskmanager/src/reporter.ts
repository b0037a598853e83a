import type {
  AccumulatorValueSample,
  ExecutionError,
  RegisterTaskManagerOutput,
  SubtaskMetricsSample,
  SubtaskStateUpdate,
} from '@freshet/protocol';
import {
  fromWireWatermark,
  MAX_TAP_SAMPLES_PER_REPORT,
  toWireWatermark,
  type FlameNodeShape,
  type TapSampleReport,
} from '@freshet/protocol';
import type { AlignmentAnnouncement, AlignmentReportMessage, SubtaskMetrics } from '@freshet/runtime';
import type { ControlPlaneClient } from './control-client.js';
import type { Logger } from './logger.js';
import type { OutputCapture } from './output-capture.js';

const MAX_PER_CALL = 10_000;

const ratio = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** A runtime metrics sample as the protocol's {@link SubtaskMetricsSample}. */
export function toSample(
  jobId: string,
  attempt: number,
  m: SubtaskMetrics,
  at: number,
): SubtaskMetricsSample {
  return {
    jobId,
    attempt,
    vertexId: m.vertexId,
    subtaskIndex: m.subtask,
    recordsIn: m.recordsIn,
    recordsOut: m.recordsOut,
    bytesIn: m.bytesIn,
    bytesOut: m.bytesOut,
    busyRatio: ratio(m.busyRatio),
    backpressureRatio: ratio(m.backpressureRatio),
    inputWatermark: Number.isFinite(m.inputWatermark) ? m.inputWatermark : null,
    at,
    ...(m.user === undefined ? {} : { user: m.user }),
    ...(m.accumulators === undefined ? {} : { accumulators: accumulatorSamples(m.accumulators) }),
    ...(m.watermarkAlignment === undefined ? {} : { watermarkAlignment: m.watermarkAlignment }),
    ...(m.connector === undefined ? {} : { connector: finiteValues(m.connector) }),
  };
}

/** Connector metrics without the values JSON cannot carry (a gauge not yet known as NaN or ±Infinity). */
function finiteValues(values: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(values)) if (Number.isFinite(v)) out[name] = v;
  return out;
}

/** Accumulator values as JSON carries them: a min/max of nothing (±Infinity) as null. */
function accumulatorSamples(
  values: NonNullable<SubtaskMetrics['accumulators']>,
): Record<string, AccumulatorValueSample> {
  const out: Record<string, AccumulatorValueSample> = {};
  for (const [name, v] of Object.entries(values)) {
    out[name] =
      (v.kind === 'min' || v.kind === 'max') && !Number.isFinite(v.value) ? { kind: v.kind, value: null } : v;
  }
  return out;
}

/** Options of {@link Reporter}. */
export interface ReporterOptions {
  client: ControlPlaneClient;
  logger: Logger;
  session: () => RegisterTaskManagerOutput | undefined;
  /** How often metrics are sent (must stay under a second). @default 800 */
  metricsIntervalMs?: number;
  /** The process's stdout, stderr and log lines to ship (one bounded batch per tick), when captured. */
  output?: OutputCapture | undefined;
}

/**
 * Sends what the TaskManager's jobs report to the JobManager, in order and
 * batched: collected records first, then state transitions (so a job's
 * records are all in before it is FINISHED), then metrics. One call at a
 * time; a failed call is retried with the same batch.
 */
export class Reporter {
  readonly #opts: ReporterOptions;
  #states: SubtaskStateUpdate[] = [];
  #collected: { jobId: string; attempt: number; collectId: string; values: unknown[] }[] = [];
  readonly #metrics = new Map<string, SubtaskMetricsSample>();
  readonly #terminal = new Set<string>();
  #pumping: Promise<void> | undefined;
  #again = false;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: ReporterOptions) {
    this.#opts = opts;
    this.#timer = setInterval(() => {
      this.#kick();
    }, opts.metricsIntervalMs ?? 800);
  }

  /** Queues a state transition. */
  state(
    jobId: string,
    attempt: number,
    vertexId: string,
    subtaskIndex: number,
    state: SubtaskStateUpdate['state'],
    error?: ExecutionError,
  ): void {
    const u: SubtaskStateUpdate = { jobId, attempt, vertexId, subtaskIndex, state, at: Date.now() };
    if (error) u.error = error;
    this.#states.push(u);
    const key = `${jobId}#${attempt}#${vertexId}#${subtaskIndex}`;
    if (state === 'FINISHED' || state === 'FAILED' || state === 'CANCELED') this.#terminal.add(key);
    this.#kick();
  }

  /** Records the latest metrics of a subtask (sent on the next tick). */
  metrics(jobId: string, attempt: number, m: SubtaskMetrics): void {
    this.#metrics.set(
      `${jobId}#${attempt}#${m.vertexId}#${m.subtask}`,
      toSample(jobId, attempt, m, Date.now()),
    );
  }

  /** The latest metrics sample of every subtask running here (for the Prometheus endpoint). */
  latestSamples(): SubtaskMetricsSample[] {
    return [...this.#metrics.values()];
  }

  /** Queues records of a collect sink. */
  collected(jobId: string, attempt: number, collectId: string, values: unknown[]): void {
    const last = this.#collected.at(-1);
    if (
      last &&
      last.jobId === jobId &&
      last.attempt === attempt &&
      last.collectId === collectId &&
      last.values.length + values.length <= MAX_PER_CALL
    ) {
      last.values.push(...values);
    } else {
      for (let i = 0; i < values.length; i += MAX_PER_CALL)
        this.#collected.push({ jobId, attempt, collectId, values: values.slice(i, i + MAX_PER_CALL) });
    }
  }

  /**
   * Tells the JobManager at once that the data connection of a deployment
   * to `peerId` broke (a few quick tries; heartbeats cover the rest).
   */
  lostPeer(jobId: string, attempt: number, peerId: string, reason: string): void {
    void this.#once('report a lost peer', (creds) =>
      this.#opts.client.executions.reportLostPeer.mutate({ ...creds, jobId, attempt, peerId, reason }),
    );
  }

  /** Tells the JobManager that a subtask could not take checkpoint `checkpointId`. */
  declineCheckpoint(
    jobId: string,
    attempt: number,
    vertexId: string,
    subtask: number,
    checkpointId: number,
    reason: string,
  ): void {
    void this.#once('decline a checkpoint', (creds) =>
      this.#opts.client.executions.declineCheckpoint.mutate({
        ...creds,
        jobId,
        attempt,
        vertexId,
        subtask,
        checkpointId,
        reason,
      }),
    );
  }

  /**
   * Reports the watermarks of aligned sources (watermark alignment) and
   * returns what the JobManager allows each group; nothing when it cannot
   * be reached (the next report, an update interval later, tries again).
   */
  async watermarks(
    jobId: string,
    attempt: number,
    reports: readonly AlignmentReportMessage[],
  ): Promise<AlignmentAnnouncement[]> {
    const session = this.#opts.session();
    if (!session) return [];
    try {
      const { announcements } = await this.#opts.client.executions.reportWatermarks.mutate({
        taskManagerId: session.taskManagerId,
        token: session.token,
        jobId,
        attempt,
        reports: reports.map((r) => ({ ...r, watermark: toWireWatermark(r.watermark) })),
      });
      return announcements.map((a) => ({
        group: a.group,
        maxAllowedWatermark: fromWireWatermark(a.maxAllowedWatermark),
      }));
    } catch (err) {
      this.#opts.logger.debug({ err: String(err), jobId }, 'Reporting watermarks failed');
      return [];
    }
  }

  /**
   * Sends records sampled from a tapped edge, outside the batches and
   * without retries (a lost sample is replaced by the next); resolves
   * whether the JobManager still wants the tap (true when it was not
   * reached: its time to live ends it anyway).
   */
  async tapSamples(
    jobId: string,
    attempt: number,
    edgeId: string,
    samples: TapSampleReport[],
  ): Promise<boolean> {
    const session = this.#opts.session();
    if (!session) return true;
    try {
      const { wanted } = await this.#opts.client.executions.reportTapSamples.mutate({
        taskManagerId: session.taskManagerId,
        token: session.token,
        jobId,
        attempt,
        edgeId,
        samples: samples.slice(0, MAX_TAP_SAMPLES_PER_REPORT),
      });
      return wanted;
    } catch (err) {
      this.#opts.logger.debug({ err: String(err), jobId, edgeId }, 'Reporting tapped records failed');
      return true;
    }
  }

  /** Sends the CPU profile the JobManager asked for (a flame tree, or why there is none), retrying briefly. */
  profile(profileId: string, result: { tree: FlameNodeShape } | { error: string }): Promise<void> {
    return this.#once('report a CPU profile', (creds) =>
      this.#opts.client.taskManagers.reportProfile.mutate({ ...creds, profileId, ...result }),
    );
  }

  /** Sends one urgent report outside the batches, retrying briefly. */
  async #once(
    what: string,
    send: (creds: { taskManagerId: string; token: string }) => Promise<unknown>,
  ): Promise<void> {
    for (let tries = 0; tries < 3; tries++) {
      const session = this.#opts.session();
      if (session) {
        try {
          await send({ taskManagerId: session.taskManagerId, token: session.token });
          return;
        } catch (err) {
          if (tries === 2)
            this.#opts.logger.warn({ err: String(err) }, `Could not ${what} to the JobManager`);
        }
      }
      await new Promise((r) => setTimeout(r, 100 * (tries + 1)));
    }
  }

  /** Sends everything queued; resolves when it went out (or could not). */
  async flush(): Promise<void> {
    this.#kick();
    while (this.#pumping) await this.#pumping;
  }

  /** Stops the metrics timer (after a final {@link Reporter.flush}). */
  stop(): void {
    clearInterval(this.#timer);
  }

  #kick(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    // Started a microtask later, so the updates of one synchronous burst go out in one call.
    this.#pumping = Promise.resolve()
      .then(() => this.#pump())
      .finally(() => {
        this.#pumping = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        }
      });
  }

  /** Sends the latest metrics sample of every subtask. */
  async #sendMetrics(creds: { taskManagerId: string; token: string }): Promise<void> {
    if (this.#metrics.size === 0) {
      this.#terminal.clear();
      return;
    }
    const sent = [...this.#metrics.entries()].slice(0, MAX_PER_CALL);
    await this.#opts.client.executions.reportMetrics.mutate({ ...creds, samples: sent.map(([, m]) => m) });
    // Subtasks that ended got their last sample; running ones are sent again next tick. A
    // subtask whose last sample arrived while this call was on the wire (and then ended) still
    // has it to send: only the sample that went out may be dropped, or the JobManager would keep
    // an earlier one as the subtask's final figures.
    for (const [k, sample] of sent) {
      if (this.#terminal.has(k) && this.#metrics.get(k) === sample) {
        this.#metrics.delete(k);
        this.#terminal.delete(k);
      }
    }
    // An ended subtask that never sampled has nothing to send.
    for (const k of this.#terminal) if (!this.#metrics.has(k)) this.#terminal.delete(k);
  }

  /** Sends one batch of captured output lines (the rest go on later ticks; the buffer is bounded). */
  async #sendOutput(creds: { taskManagerId: string; token: string }): Promise<void> {
    const output = this.#opts.output;
    if (output === undefined || !output.pending) return;
    const batch = output.take();
    try {
      await this.#opts.client.taskManagers.reportOutput.mutate({ ...creds, ...batch });
    } catch (err) {
      output.putBack(batch);
      throw err;
    }
  }

  async #pump(): Promise<void> {
    const { client, logger } = this.#opts;
    for (let tries = 0; tries < 20; tries++) {
      // Nothing to send needs no session (a TaskManager whose registration was refused stops at once).
      if (this.#collected.length === 0 && this.#states.length === 0 && this.#metrics.size === 0) return;
      const session = this.#opts.session();
      if (!session) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const creds = { taskManagerId: session.taskManagerId, token: session.token };
      try {
        // A subtask's last metrics sample (with its final accumulators) goes out before its
        // FINISHED: the JobManager takes samples of current subtasks only.
        if (this.#states.length > 0) await this.#sendMetrics(creds);
        // Records queued while an earlier states call was on the wire go out before the next
        // states call: a subtask's FINISHED must never overtake the records it collected.
        while (this.#collected.length > 0 || this.#states.length > 0) {
          if (this.#collected.length > 0) {
            // Taken out before sending: later records must not join a batch already on the wire.
            const batch = this.#collected.shift()!;
            try {
              await client.executions.reportCollected.mutate({ ...creds, ...batch });
            } catch (err) {
              this.#collected.unshift(batch);
              throw err;
            }
            continue;
          }
          // States queued while this pump ran: the last samples of subtasks that ended go first.
          if (this.#terminal.size > 0) await this.#sendMetrics(creds);
          const updates = this.#states.slice(0, MAX_PER_CALL);
          await client.executions.reportStates.mutate({ ...creds, updates });
          this.#states.splice(0, updates.length);
        }
        await this.#sendMetrics(creds);
        await this.#sendOutput(creds);
        return;
      } catch (err) {
        if (tries === 0 || tries % 5 === 4)
          logger.warn({ err: String(err) }, 'Reporting to the JobManager failed; retrying');
        await new Promise((r) => setTimeout(r, 250 * Math.min(8, tries + 1)));
      }
    }
    logger.error({ states: this.#states.length }, 'Gave up reporting to the JobManager for now');
  }
}
