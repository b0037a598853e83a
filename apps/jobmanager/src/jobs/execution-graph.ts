/**
 * A job's ExecutionGraph (Flink's `ExecutionGraph`): one execution vertex per
 * JobVertex × subtask, each with its current Execution (the subtask's
 * attempt), the job's pipelined regions, its global slots and its status.
 *
 * Pure state transitions: nothing here does I/O, keeps time or starts
 * timers. Every method that changes an execution returns the
 * {@link Transition}s it made, which the scheduler persists and announces;
 * methods that only answer questions change nothing.
 *
 * Rules kept here, so every caller obeys them:
 *
 * - A report moves an execution forward only (`SCHEDULED` after the
 *   JobManager already marked it `DEPLOYING` is dropped), never out of a
 *   terminal state, and once the JobManager asked it to cancel only its end
 *   counts.
 * - Fencing: a report names the attempt it is about and the TaskManager it
 *   comes from; a report of another attempt than the current one, or from
 *   another TaskManager, changes nothing.
 * - The job status follows Flink's JobStatus graph ({@link JOB_TRANSITIONS}).
 * - A staged BATCH job (blocking exchanges, `computeStages`): its regions are
 *   the stages' pipelined parts, and a region is ready to deploy only once
 *   every region whose partitions it reads finished ({@link ExecutionGraph.readyRegions}).
 */
import { ConflictError } from '@freshet/errors';
import type { JobStatus } from '@freshet/db';
import {
  TERMINAL_EXECUTION_STATES,
  type DeployedSlot,
  type ExecutionError,
  type ExecutionState,
  type JobGraph,
} from '@freshet/protocol';
import {
  computePipelinedRegions,
  computeStages,
  executionKey,
  type PipelinedRegions,
} from '@freshet/runtime';

/** States an execution never leaves. */
export const TERMINAL = new Set<ExecutionState>(TERMINAL_EXECUTION_STATES);
/** Job statuses a job never leaves. */
export const TERMINAL_JOB = new Set<JobStatus>(['FINISHED', 'FAILED', 'CANCELED']);
/** States of an execution a TaskManager holds (it must be told to cancel). */
export const DEPLOYED = new Set<ExecutionState>(['DEPLOYING', 'INITIALIZING', 'RUNNING']);

/** Position of each state in Flink's subtask lifecycle; reports never move a subtask to a lower rank. */
const LIFECYCLE_RANK: Record<ExecutionState, number> = {
  CREATED: 0,
  SCHEDULED: 1,
  DEPLOYING: 2,
  INITIALIZING: 3,
  RUNNING: 4,
  CANCELING: 5,
  FINISHED: 6,
  CANCELED: 6,
  FAILED: 6,
};

/** Which job status may follow which (Flink's JobStatus, without SUSPENDED). */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  CREATED: ['RUNNING', 'RESTARTING', 'FAILING', 'CANCELLING', 'FINISHED'],
  RUNNING: ['RESTARTING', 'FAILING', 'CANCELLING', 'FINISHED'],
  RESTARTING: ['RUNNING', 'FAILING', 'CANCELLING', 'FINISHED'],
  FAILING: ['FAILED'],
  // A stop with a savepoint cancels the executions once the savepoint is committed, and finishes.
  CANCELLING: ['CANCELED', 'FINISHED'],
  FINISHED: [],
  FAILED: [],
  CANCELED: [],
};

/** One attempt of one subtask (Flink's `Execution`). */
export interface Execution {
  /** Id of its Execution row. */
  readonly id: string;
  readonly vertexId: string;
  readonly subtask: number;
  readonly attempt: number;
  state: ExecutionState;
  taskManagerId: string | null;
  /** Slot on its TaskManager. */
  slotIndex: number | null;
}

/** One subtask of the job, across its attempts (Flink's `ExecutionVertex`). */
export interface ExecutionVertex {
  /** `vertexId#subtask`. */
  readonly key: string;
  readonly vertexId: string;
  readonly vertexName: string;
  readonly parallelism: number;
  readonly subtask: number;
  /** Index of its pipelined region. */
  readonly region: number;
  /** Its current attempt. */
  current: Execution;
}

/** One Execution state change, as the scheduler persists it. */
export interface Transition {
  execution: Execution;
  /** For messages: `Source: numbers (2/4)`. */
  name: string;
  from: ExecutionState;
  to: ExecutionState;
  /** The failure a TaskManager reported. */
  error?: ExecutionError;
  /** Why the JobManager decided the transition (lost TaskManager, timeout). */
  cause?: string;
}

/** What {@link ExecutionGraph.report} made of a TaskManager's report. */
export type ReportOutcome =
  | { applied: true; transition: Transition }
  | {
      applied: false;
      /** Why it changed nothing. */
      reason: 'unknown' | 'stale-attempt' | 'foreign' | 'no-change';
    };

/** A job status change. */
export interface StatusChange {
  from: JobStatus;
  to: JobStatus;
}

/** Options of an {@link ExecutionGraph}. */
export interface ExecutionGraphOptions {
  jobId: string;
  jobGraph: JobGraph;
  /** New Execution ids (uuids in the JobManager; counters in tests). */
  newId: () => string;
  /** @default 'CREATED' */
  status?: JobStatus;
  /** The job's newest attempt (recovered jobs). @default 0 */
  attempt?: number;
  /** @default 0 */
  restarts?: number;
}

/** `Source: numbers (2/4)`, as Flink names a subtask. */
export const subtaskName = (v: { vertexName: string; subtask: number; parallelism: number }): string =>
  `${v.vertexName} (${v.subtask + 1}/${v.parallelism})`;

/** Slots a job needs: its largest vertex parallelism (slot sharing). */
export function slotsNeeded(jobGraph: JobGraph): number {
  return Math.max(1, ...jobGraph.vertices.map((v) => v.parallelism));
}

/** The ExecutionGraph of one job. */
export class ExecutionGraph {
  readonly jobId: string;
  readonly jobGraph: JobGraph;
  readonly regions: PipelinedRegions;
  /** The job runs in stages joined by blocking exchanges (a BATCH job with non-FORWARD edges). */
  readonly staged: boolean;
  /** The job's global slots (`slots[i]` runs subtask `s` of every vertex with `s % slots.length === i`); empty until scheduled. */
  slots: (DeployedSlot | undefined)[] = [];
  readonly #vertices = new Map<string, ExecutionVertex>();
  /** The execution vertices of each region (vertex order, then subtask). */
  readonly #members: ExecutionVertex[][] = [];
  readonly #newId: () => string;
  #status: JobStatus;
  #attempt: number;
  #restarts: number;

  constructor(options: ExecutionGraphOptions) {
    this.jobId = options.jobId;
    this.jobGraph = options.jobGraph;
    this.#newId = options.newId;
    this.#status = options.status ?? 'CREATED';
    this.#attempt = options.attempt ?? 0;
    this.#restarts = options.restarts ?? 0;
    const stages = computeStages(options.jobGraph);
    this.staged = stages !== undefined;
    this.regions = stages ?? computePipelinedRegions(options.jobGraph);
    for (const v of options.jobGraph.vertices) {
      for (let s = 0; s < v.parallelism; s++) {
        const key = executionKey(v.id, s);
        const region = this.regions.regionOf(v.id, s).index;
        const vertex: ExecutionVertex = {
          key,
          vertexId: v.id,
          vertexName: v.name,
          parallelism: v.parallelism,
          subtask: s,
          region,
          current: this.#execution(v.id, s, this.#attempt),
        };
        this.#vertices.set(key, vertex);
        (this.#members[region] ??= []).push(vertex);
      }
    }
  }

  // ------------------------------------------------------------ queries

  /** The job's status. */
  get status(): JobStatus {
    return this.#status;
  }

  /** The newest attempt of any subtask (the job-wide attempt counter). */
  get attempt(): number {
    return this.#attempt;
  }

  /** Restarts so far (of the whole job or of regions). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Every execution vertex, vertex by vertex (topological order), subtasks ascending. */
  vertices(): ExecutionVertex[] {
    return [...this.#vertices.values()];
  }

  /** The execution vertex `vertexId#subtask`, if the job has it. */
  vertex(vertexId: string, subtask: number): ExecutionVertex | undefined {
    return this.#vertices.get(executionKey(vertexId, subtask));
  }

  /** The execution vertices of region `region`. */
  regionVertices(region: number): ExecutionVertex[] {
    return [...(this.#members[region] ?? [])];
  }

  /**
   * Regions whose executions are all CREATED and whose upstream regions (a
   * staged job's blocking inputs) all finished: the ones to deploy now.
   * Every not yet deployed region of a job that is not staged.
   */
  readyRegions(): number[] {
    const finished = (r: number): boolean =>
      this.regionVertices(r).every((v) => v.current.state === 'FINISHED');
    return this.regions.regions
      .filter(
        (r) =>
          this.regionVertices(r.index).every((v) => v.current.state === 'CREATED') &&
          r.upstream.every(finished),
      )
      .map((r) => r.index);
  }

  /** Regions that read the blocking partitions of region `region` (a staged job). */
  downstreamOf(region: number): number[] {
    return this.regions.regions.filter((r) => r.upstream.includes(region)).map((r) => r.index);
  }

  /** The global slot subtask `subtask` runs in (slot sharing: `subtask % slots`). */
  slotOf(subtask: number): number {
    return subtask % slotsNeeded(this.jobGraph);
  }

  /** The current executions that are not terminal. */
  live(): ExecutionVertex[] {
    return this.vertices().filter((v) => !TERMINAL.has(v.current.state));
  }

  /** Whether every current execution is in one of `states`. */
  all(...states: ExecutionState[]): boolean {
    for (const v of this.#vertices.values()) if (!states.includes(v.current.state)) return false;
    return true;
  }

  /** Whether `attempt` is the current attempt of subtask `vertexId#subtask` and it runs on `taskManagerId`. */
  isCurrent(vertexId: string, subtask: number, attempt: number, taskManagerId?: string): boolean {
    const v = this.vertex(vertexId, subtask);
    if (v === undefined || v.current.attempt !== attempt) return false;
    return taskManagerId === undefined || v.current.taskManagerId === taskManagerId;
  }

  // ------------------------------------------------------------ reports

  /**
   * A TaskManager reports that subtask `vertexId#subtask` of `attempt` is in
   * `state`: applied only under the rules in the module's documentation.
   */
  report(
    vertexId: string,
    subtask: number,
    attempt: number,
    taskManagerId: string,
    state: ExecutionState,
    error?: ExecutionError,
  ): ReportOutcome {
    const v = this.vertex(vertexId, subtask);
    if (v === undefined) return { applied: false, reason: 'unknown' };
    const e = v.current;
    if (e.attempt !== attempt) return { applied: false, reason: 'stale-attempt' };
    if (e.taskManagerId !== taskManagerId) return { applied: false, reason: 'foreign' };
    const from = e.state;
    if (TERMINAL.has(from) || from === state) return { applied: false, reason: 'no-change' };
    // A late or early report (e.g. SCHEDULED on receipt, after the JobManager
    // already marked the subtask DEPLOYING) must not move it backwards.
    if (LIFECYCLE_RANK[state] < LIFECYCLE_RANK[from]) return { applied: false, reason: 'no-change' };
    // Once asked to cancel, only the end of the subtask counts.
    if (from === 'CANCELING' && !TERMINAL.has(state)) return { applied: false, reason: 'no-change' };
    e.state = state;
    const transition: Transition = { execution: e, name: subtaskName(v), from, to: state };
    if (error !== undefined) transition.error = error;
    return { applied: true, transition };
  }

  // ------------------------------------------------------------ decisions of the JobManager

  /**
   * Moves the current execution of `vertex` to `to` (the JobManager decided
   * it: scheduling, deploying, cancelling, a lost TaskManager). Returns
   * undefined when it already ended or is in `to`.
   */
  transition(vertex: ExecutionVertex, to: ExecutionState, cause?: string): Transition | undefined {
    const e = vertex.current;
    const from = e.state;
    if (TERMINAL.has(from) || from === to) return undefined;
    e.state = to;
    const t: Transition = { execution: e, name: subtaskName(vertex), from, to };
    if (cause !== undefined) t.cause = cause;
    return t;
  }

  /**
   * Places the CREATED executions of `vertices` in the job's global slots
   * (which must be assigned) and moves them to SCHEDULED.
   */
  schedule(vertices: readonly ExecutionVertex[]): Transition[] {
    const out: Transition[] = [];
    for (const v of vertices) {
      const slot = this.slots[this.slotOf(v.subtask)];
      if (slot === undefined)
        throw new RangeError(`global slot ${this.slotOf(v.subtask)} of job ${this.jobId} is not assigned`);
      if (v.current.state !== 'CREATED') continue;
      v.current.taskManagerId = slot.taskManagerId;
      v.current.slotIndex = slot.slotIndex;
      const t = this.transition(v, 'SCHEDULED');
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /**
   * A new attempt of `regions`: the job's attempt counter goes up by one,
   * every subtask of those regions gets a fresh CREATED execution with it
   * (its old one must have ended), and the restart is counted.
   */
  restartRegions(regions: Iterable<number>): { attempt: number; executions: Execution[] } {
    const wanted = new Set(regions);
    const vertices = this.vertices().filter((v) => wanted.has(v.region));
    const alive = vertices.find((v) => !TERMINAL.has(v.current.state));
    if (alive !== undefined) {
      throw new ConflictError(
        `${subtaskName(alive)} of job ${this.jobId} is still ${alive.current.state}; a region restarts once all its subtasks ended`,
      );
    }
    const attempt = ++this.#attempt;
    this.#restarts++;
    const executions: Execution[] = [];
    for (const v of vertices) {
      v.current = this.#execution(v.vertexId, v.subtask, attempt);
      executions.push(v.current);
    }
    return { attempt, executions };
  }

  /** Adopts executions known from the database (a recovered job's newest attempts, with their last known states). */
  adopt(executions: readonly Execution[]): void {
    for (const e of executions) {
      const v = this.vertex(e.vertexId, e.subtask);
      if (v === undefined || e.attempt < v.current.attempt) continue;
      v.current = { ...e };
      if (e.attempt > this.#attempt) this.#attempt = e.attempt;
    }
  }

  /**
   * Changes the job status. Returns the change, or undefined when it already
   * is `to`; throws a ConflictError for a change the JobStatus graph does not allow.
   */
  setStatus(to: JobStatus): StatusChange | undefined {
    const from = this.#status;
    if (from === to) return undefined;
    if (!JOB_TRANSITIONS[from].includes(to)) {
      throw new ConflictError(`Job ${this.jobId} cannot go from ${from} to ${to}`);
    }
    this.#status = to;
    return { from, to };
  }

  /**
   * The status the executions call for, if it differs from the current one:
   * FINISHED when every execution finished; RUNNING (from CREATED or
   * RESTARTING, unless `restarting` says a restart is still under way) when
   * every execution runs or finished; FAILED or CANCELED once every
   * execution of a FAILING or CANCELLING job ended.
   */
  derivedStatus(restarting: boolean): JobStatus | undefined {
    const s = this.#status;
    if (s === 'CREATED' || s === 'RUNNING' || s === 'RESTARTING') {
      if (this.all('FINISHED')) return 'FINISHED';
      // A staged job runs while its deployed stages run; later stages wait CREATED for their inputs.
      const running = this.staged
        ? this.all('RUNNING', 'FINISHED', 'CREATED') &&
          this.vertices().some((v) => v.current.state === 'RUNNING')
        : this.all('RUNNING', 'FINISHED');
      if (s !== 'RUNNING' && !restarting && running) return 'RUNNING';
      return undefined;
    }
    if ((s === 'FAILING' || s === 'CANCELLING') && this.live().length === 0)
      return s === 'FAILING' ? 'FAILED' : 'CANCELED';
    return undefined;
  }

  #execution(vertexId: string, subtask: number, attempt: number): Execution {
    return {
      id: this.#newId(),
      vertexId,
      subtask,
      attempt,
      state: 'CREATED',
      taskManagerId: null,
      slotIndex: null,
    };
  }
}
