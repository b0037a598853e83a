import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ConflictError, NotFoundError, UnauthorizedError } from '@freshet/errors';
import {
  TASK_MANAGER_STATUSES,
  type DeregisterInput,
  type HeartbeatInput,
  type HeartbeatOutput,
  type RegisterTaskManagerInput,
  type RegisterTaskManagerOutput,
  type TaskManagerStatus,
} from '@freshet/protocol';
import type { Logger } from '../logger.js';
import { ChangeFeed } from './changes.js';
import type { JoinSecret } from './join-secret.js';
import type { ClusterStore, TaskManagerRecord } from './store.js';

/** A TaskManager as the API shows it (dates as ISO strings, ready for JSON). */
export interface TaskManagerInfo {
  id: string;
  host: string;
  dataPort: number;
  controlAddress: string;
  slots: number;
  slotsUsed: number;
  status: TaskManagerStatus;
  registeredAt: string;
  lastHeartbeatAt: string;
  health: TaskManagerRecord['health'];
}

/** One heartbeat's health, kept in memory for the last minutes (`taskManagers.get`). */
export interface HealthPoint {
  /** Epoch ms of the heartbeat. */
  t: number;
  cpu: number;
  heapUsed: number;
  rss: number;
  eventLoopDelayMs: number;
  slotsUsed: number;
}

/** Records per second flowing out of the sources of every running job. */
export interface ClusterThroughput {
  /** The latest second's rate. */
  recordsPerSec: number;
  /** One point per second, oldest first, over the last minutes (`t` is epoch ms). */
  history: { t: number; recordsPerSec: number }[];
}

/** A TaskManager that can take work: live, with a session, status OK. */
export interface SchedulableTaskManager {
  id: string;
  host: string;
  dataPort: number;
  slots: number;
}

/** Why a TaskManager's session ended while it may have run subtasks. */
export interface TaskManagerLoss {
  id: string;
  host: string;
  dataPort: number;
  /** e.g. `no heartbeat for 10000 ms`, `it deregistered`, `it registered again (new session)`. */
  reason: string;
}

/** The cluster at a glance, as `cluster.overview` returns it. */
export interface ClusterOverview {
  taskManagers: { total: number; byStatus: Record<TaskManagerStatus, number> };
  /** Slots of live (OK or LATE) TaskManagers. */
  slots: { total: number; free: number };
  jobs: { total: number; byStatus: Record<string, number> };
  /** Summed source out-rates of the running jobs. */
  throughput: ClusterThroughput;
  jobManager: {
    version: string;
    startedAt: string;
    database: ClusterStore['kind'];
    heartbeatTimeoutMs: number;
  };
}

/** In-memory view of a TaskManager that is not known to be gone. */
interface LiveTaskManager {
  status: 'OK' | 'LATE';
  host: string;
  dataPort: number;
  slots: number;
  slotsUsed: number;
  /** Last sign of life (ms since epoch); the JobManager's start time for rows inherited from a previous run. */
  lastSeenMs: number;
  /** sha256 of the session token; absent for rows inherited from a previous JobManager run. */
  tokenHash?: Buffer;
}

/** Options of {@link ClusterRegistry}. */
export interface ClusterRegistryOptions {
  store: ClusterStore;
  logger: Logger;
  version: string;
  /** Silence after which a TaskManager is LOST; LATE after half of it. */
  heartbeatTimeoutMs: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Registrations must present this join secret (the JobManager always sets it; absent only in unit tests). */
  joinSecret?: JoinSecret;
  /** With high availability: the fencing token of this leader's term, given to every session. */
  leaderEpoch?: number | undefined;
}

const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/** How long heartbeat health is kept for `taskManagers.get`. */
const HEALTH_HISTORY_MS = 5 * 60_000;

/**
 * The JobManager's book of TaskManagers: registration, heartbeats, liveness.
 * Session tokens live only in memory (as hashes): after a JobManager restart
 * every TaskManager is told to register again, which is also when the new
 * JobManager learns what it runs.
 */
export class ClusterRegistry {
  /** Bumped on every visible change of the cluster (for `cluster.onUpdate`). */
  readonly changes = new ChangeFeed();
  readonly startedAt: Date;
  readonly heartbeatIntervalMs: number;
  readonly #live = new Map<string, LiveTaskManager>();
  readonly #health = new Map<string, HealthPoint[]>();
  readonly #lossListeners = new Set<(loss: TaskManagerLoss) => void>();
  readonly #registrationListeners = new Set<
    (taskManager: SchedulableTaskManager, input: RegisterTaskManagerInput) => void
  >();
  readonly #opts: ClusterRegistryOptions;
  readonly #now: () => number;
  #slotUsage: ((taskManagerId: string) => number) | undefined;
  #throughput: () => ClusterThroughput = () => ({ recordsPerSec: 0, history: [] });

  constructor(opts: ClusterRegistryOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.startedAt = new Date(this.#now());
    // Four heartbeats per timeout: one lost packet never makes a TaskManager LATE.
    this.heartbeatIntervalMs = Math.max(50, Math.floor(opts.heartbeatTimeoutMs / 4));
  }

  /**
   * Loads TaskManagers a previous run left OK or LATE. They get a full timeout,
   * counted from now, to register again before they are declared LOST.
   */
  async restore(): Promise<void> {
    const startMs = this.startedAt.getTime();
    for (const row of await this.#opts.store.listTaskManagers()) {
      if (row.status !== 'OK' && row.status !== 'LATE') continue;
      this.#live.set(row.id, {
        status: row.status,
        host: row.host,
        dataPort: row.dataPort,
        slots: row.slots,
        slotsUsed: row.health?.slotsUsed ?? 0,
        lastSeenMs: Math.max(row.lastHeartbeatAt.getTime(), startMs),
      });
    }
  }

  /**
   * Registers a TaskManager, or re-registers one under its resource id
   * (reviving its row). Refused, changing nothing, without the join secret
   * (UNAUTHORIZED), and when the resource id holds a live session that the
   * registration does not prove with its `sessionToken` (CONFLICT).
   */
  async register(input: RegisterTaskManagerInput): Promise<RegisterTaskManagerOutput> {
    const { store, logger } = this.#opts;
    this.#opts.joinSecret?.check(input.joinSecret);
    this.#requireOwnSession(input);
    const now = new Date(this.#now());
    const registration = {
      host: input.host,
      dataPort: input.dataPort,
      controlAddress: input.controlAddress ?? `${input.host}:${input.dataPort}`,
      slots: input.slots,
    };
    const id = input.resourceId ?? randomUUID();
    const previous = input.resourceId === undefined ? null : await store.getTaskManager(id);
    const reused = previous !== null;
    const row = reused
      ? await store.reviveTaskManager(id, registration, now)
      : await store.createTaskManager(id, registration, now);
    const token = randomBytes(32).toString('base64url');
    // A TaskManager registering again under a live session restarted: whatever it ran is gone.
    const before = this.#live.get(row.id);
    if (before?.tokenHash !== undefined) {
      this.#emitLoss({
        id: row.id,
        host: before.host,
        dataPort: before.dataPort,
        reason: 'it registered again (its previous session ended)',
      });
    }
    this.#live.set(row.id, {
      status: 'OK',
      host: row.host,
      dataPort: row.dataPort,
      slots: row.slots,
      slotsUsed: 0,
      lastSeenMs: now.getTime(),
      tokenHash: hashToken(token),
    });
    logger.info(
      { taskManagerId: row.id, host: row.host, dataPort: row.dataPort, slots: row.slots, reused },
      reused ? 'TaskManager re-registered' : 'TaskManager registered',
    );
    const schedulable = { id: row.id, host: row.host, dataPort: row.dataPort, slots: row.slots };
    for (const listener of this.#registrationListeners) listener(schedulable, input);
    this.changes.notify();
    return {
      taskManagerId: row.id,
      token,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.#opts.heartbeatTimeoutMs,
      ...(this.#opts.leaderEpoch === undefined ? {} : { leaderEpoch: this.#opts.leaderEpoch }),
    };
  }

  /** Records a heartbeat; tells the TaskManager to register again if its session is unknown. */
  async heartbeat(input: HeartbeatInput): Promise<HeartbeatOutput> {
    const live = this.#live.get(input.taskManagerId);
    if (live?.tokenHash === undefined) {
      return {
        status: 'reregister',
        reason: `unknown TaskManager ${input.taskManagerId}: the JobManager restarted or declared it lost`,
      };
    }
    this.#authenticate(live.tokenHash, input.token);
    const nowMs = this.#now();
    const recovered = live.status !== 'OK';
    const slotsChanged = live.slotsUsed !== input.health.slotsUsed;
    live.lastSeenMs = nowMs;
    live.status = 'OK';
    live.slotsUsed = input.health.slotsUsed;
    this.#recordHealth(input.taskManagerId, nowMs, input.health);
    await this.#opts.store.recordHeartbeat(input.taskManagerId, new Date(nowMs), input.health, 'OK');
    if (recovered) this.#opts.logger.info({ taskManagerId: input.taskManagerId }, 'TaskManager is OK again');
    if (recovered || slotsChanged) this.changes.notify();
    return { status: 'ok' };
  }

  /** Marks a TaskManager that shuts down cleanly as DEREGISTERED. */
  async deregister(input: DeregisterInput): Promise<{ status: 'DEREGISTERED' }> {
    const live = this.#live.get(input.taskManagerId);
    if (live?.tokenHash === undefined) {
      throw new NotFoundError(
        `TaskManager ${input.taskManagerId} has no session with this JobManager; nothing to deregister`,
      );
    }
    this.#authenticate(live.tokenHash, input.token);
    this.#live.delete(input.taskManagerId);
    this.#emitLoss({
      id: input.taskManagerId,
      host: live.host,
      dataPort: live.dataPort,
      reason: 'it deregistered',
    });
    await this.#opts.store.setTaskManagerStatus(input.taskManagerId, 'DEREGISTERED');
    this.#opts.logger.info({ taskManagerId: input.taskManagerId }, 'TaskManager deregistered');
    this.changes.notify();
    return { status: 'DEREGISTERED' };
  }

  /**
   * Moves silent TaskManagers to LATE (half the timeout) or LOST (the whole
   * timeout), persists the change and notifies subscribers. A LOST TaskManager's
   * session ends: its next heartbeat is told to register again.
   *
   * `blindMs` is time since the previous check during which this process
   * could not take heartbeats (its event loop was held up: a pause, a long
   * synchronous stretch of the embedded database): it does not count as the
   * TaskManagers' silence, whose heartbeats may be waiting unread.
   */
  async checkLiveness(blindMs = 0): Promise<void> {
    const { heartbeatTimeoutMs, store, logger } = this.#opts;
    const nowMs = this.#now();
    let changed = false;
    for (const [id, live] of [...this.#live]) {
      if (blindMs > 0) live.lastSeenMs = Math.min(nowMs, live.lastSeenMs + blindMs);
      const silentMs = nowMs - live.lastSeenMs;
      let next: TaskManagerStatus = live.status;
      if (silentMs >= heartbeatTimeoutMs) next = 'LOST';
      else if (silentMs >= heartbeatTimeoutMs / 2) next = 'LATE';
      if (next === live.status) continue;
      if (next === 'LOST') {
        this.#live.delete(id);
        logger.warn({ taskManagerId: id, silentMs }, 'TaskManager lost: no heartbeat within the timeout');
        if (live.tokenHash !== undefined) {
          this.#emitLoss({
            id,
            host: live.host,
            dataPort: live.dataPort,
            reason: `no heartbeat for ${heartbeatTimeoutMs} ms`,
          });
        }
      } else {
        live.status = 'LATE';
        logger.warn({ taskManagerId: id, silentMs }, 'TaskManager late: heartbeats overdue');
      }
      await store.setTaskManagerStatus(id, next);
      changed = true;
    }
    if (changed) this.changes.notify();
  }

  /**
   * Declares a TaskManager lost at once (a peer reports its data connection
   * to it broken): its session ends, as after a heartbeat timeout, and it
   * must register again. Returns false when it held no session.
   */
  declareLost(taskManagerId: string, reason: string): boolean {
    const live = this.#live.get(taskManagerId);
    if (live?.tokenHash === undefined) return false;
    this.#live.delete(taskManagerId);
    this.#opts.logger.warn({ taskManagerId, reason }, 'TaskManager lost: declared so by a peer');
    this.#emitLoss({ id: taskManagerId, host: live.host, dataPort: live.dataPort, reason });
    void this.#opts.store.setTaskManagerStatus(taskManagerId, 'LOST').catch((err: unknown) => {
      this.#opts.logger.error({ err, taskManagerId }, 'Recording a lost TaskManager failed');
    });
    this.changes.notify();
    return true;
  }

  /**
   * Checks a TaskManager's session: `ok`, or `unknown` when the JobManager
   * has none for it (restarted, or declared it lost). A wrong token throws
   * UNAUTHORIZED.
   */
  checkSession(taskManagerId: string, token: string): 'ok' | 'unknown' {
    const live = this.#live.get(taskManagerId);
    if (live?.tokenHash === undefined) return 'unknown';
    this.#authenticate(live.tokenHash, token);
    return 'ok';
  }

  /** Like {@link ClusterRegistry.checkSession} but `unknown` is UNAUTHORIZED too (for mutations). */
  requireSession(taskManagerId: string, token: string): void {
    if (this.checkSession(taskManagerId, token) === 'unknown') {
      throw new UnauthorizedError(
        `Unknown TaskManager session ${taskManagerId}: the JobManager restarted or declared it lost; register again`,
      );
    }
  }

  /** Whether `taskManagerId` holds a session (registered in this JobManager's lifetime and not lost). */
  hasSession(taskManagerId: string): boolean {
    return this.#live.get(taskManagerId)?.tokenHash !== undefined;
  }

  /** TaskManagers that can take new work (OK, with a session), in a stable order. */
  schedulable(): SchedulableTaskManager[] {
    const out: SchedulableTaskManager[] = [];
    for (const [id, live] of this.#live) {
      if (live.status === 'OK' && live.tokenHash !== undefined) {
        out.push({ id, host: live.host, dataPort: live.dataPort, slots: live.slots });
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Host and data port of a TaskManager this JobManager knows in memory, if any. */
  address(taskManagerId: string): { host: string; dataPort: number } | undefined {
    const live = this.#live.get(taskManagerId);
    return live === undefined ? undefined : { host: live.host, dataPort: live.dataPort };
  }

  /**
   * Calls `listener` when a TaskManager's session ends with work possibly on
   * it: LOST, deregistered, or registered again. Returns an unsubscribe function.
   */
  onLoss(listener: (loss: TaskManagerLoss) => void): () => void {
    this.#lossListeners.add(listener);
    return () => this.#lossListeners.delete(listener);
  }

  /**
   * Calls `listener` on every registration, synchronously, before anyone
   * learns the TaskManager can take work (so what it reports running is
   * booked before a job is placed on it). Returns the unsubscribe.
   */
  onRegistration(
    listener: (taskManager: SchedulableTaskManager, input: RegisterTaskManagerInput) => void,
  ): () => void {
    this.#registrationListeners.add(listener);
    return () => this.#registrationListeners.delete(listener);
  }

  /** Makes slot usage come from the scheduler's allocations instead of heartbeats. */
  setSlotUsage(slotsUsed: (taskManagerId: string) => number): void {
    this.#slotUsage = slotsUsed;
  }

  /** Source of the overview's throughput. */
  setThroughput(throughput: () => ClusterThroughput): void {
    this.#throughput = throughput;
  }

  /** Heartbeat health of the last minutes, oldest first (empty for a TaskManager not heard from in this run). */
  healthHistory(taskManagerId: string): HealthPoint[] {
    return [...(this.#health.get(taskManagerId) ?? [])];
  }

  /** Every TaskManager ever registered, newest first. */
  async list(): Promise<TaskManagerInfo[]> {
    const rows = await this.#opts.store.listTaskManagers();
    return rows.map((row) => this.#info(row));
  }

  /** One TaskManager, or NOT_FOUND. */
  async get(id: string): Promise<TaskManagerInfo> {
    const row = await this.#opts.store.getTaskManager(id);
    if (row === null) {
      throw new NotFoundError(
        `No TaskManager with id ${JSON.stringify(id)}; list them with taskManagers.list`,
      );
    }
    return this.#info(row);
  }

  /** Counts for the dashboard's front page. */
  async overview(): Promise<ClusterOverview> {
    const { store, version, heartbeatTimeoutMs } = this.#opts;
    const [rows, jobsByStatus] = await Promise.all([store.listTaskManagers(), store.countJobsByStatus()]);
    const byStatus = Object.fromEntries(TASK_MANAGER_STATUSES.map((s) => [s, 0])) as Record<
      TaskManagerStatus,
      number
    >;
    let total = 0;
    let used = 0;
    for (const row of rows) {
      const status = this.#statusOf(row);
      byStatus[status]++;
      if (status === 'OK' || status === 'LATE') {
        total += row.slots;
        used += Math.min(row.slots, this.#slotsUsed(row.id));
      }
    }
    let jobs = 0;
    for (const n of Object.values(jobsByStatus)) jobs += n;
    return {
      taskManagers: { total: rows.length, byStatus },
      slots: { total, free: total - used },
      jobs: { total: jobs, byStatus: jobsByStatus },
      throughput: this.#throughput(),
      jobManager: {
        version,
        startedAt: this.startedAt.toISOString(),
        database: store.kind,
        heartbeatTimeoutMs,
      },
    };
  }

  #slotsUsed(id: string): number {
    const live = this.#live.get(id);
    if (live === undefined) return 0;
    return this.#slotUsage === undefined ? live.slotsUsed : this.#slotUsage(id);
  }

  #emitLoss(loss: TaskManagerLoss): void {
    for (const listener of this.#lossListeners) {
      try {
        listener(loss);
      } catch (err) {
        this.#opts.logger.error({ err, taskManagerId: loss.id }, 'TaskManager loss handler failed');
      }
    }
  }

  #recordHealth(id: string, t: number, health: HeartbeatInput['health']): void {
    let points = this.#health.get(id);
    if (points === undefined) this.#health.set(id, (points = []));
    points.push({
      t,
      cpu: health.cpu,
      heapUsed: health.heapUsed,
      rss: health.rss,
      eventLoopDelayMs: health.eventLoopDelayMs,
      slotsUsed: this.#slotsUsed(id),
    });
    let drop = 0;
    while (drop < points.length && points[drop]!.t < t - HEALTH_HISTORY_MS) drop++;
    if (drop > 0) points.splice(0, drop);
  }

  /** A registration under the resource id of a live session must carry that session's token. */
  #requireOwnSession(input: RegisterTaskManagerInput): void {
    if (input.resourceId === undefined) return;
    const live = this.#live.get(input.resourceId);
    if (live?.tokenHash === undefined) return;
    if (input.sessionToken !== undefined && timingSafeEqual(live.tokenHash, hashToken(input.sessionToken)))
      return;
    this.#opts.logger.warn(
      { taskManagerId: input.resourceId, host: input.host, dataPort: input.dataPort },
      'Refused a registration under the resource id of a live TaskManager session (no proof of that session)',
    );
    throw new ConflictError(
      `TaskManager ${input.resourceId} holds a live session; registering under its resource id needs that session's token. A restarted TaskManager is admitted once the JobManager declared the old one lost (after the heartbeat timeout)`,
    );
  }

  #authenticate(expected: Buffer, token: string): void {
    if (!timingSafeEqual(expected, hashToken(token))) {
      throw new UnauthorizedError('Invalid TaskManager token; register again to get a new session');
    }
  }

  /** The in-memory status is fresher than the row between a change and its write. */
  #statusOf(row: TaskManagerRecord): TaskManagerStatus {
    return this.#live.get(row.id)?.status ?? row.status;
  }

  #info(row: TaskManagerRecord): TaskManagerInfo {
    return {
      id: row.id,
      host: row.host,
      dataPort: row.dataPort,
      controlAddress: row.controlAddress,
      slots: row.slots,
      slotsUsed: this.#slotsUsed(row.id),
      status: this.#statusOf(row),
      registeredAt: row.registeredAt.toISOString(),
      lastHeartbeatAt: row.lastHeartbeatAt.toISOString(),
      health: row.health,
    };
  }
}
