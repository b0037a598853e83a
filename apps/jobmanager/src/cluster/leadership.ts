/**
 * JobManager leadership for high availability (`--ha`): several JobManagers
 * on one Postgres database, one of them the leader through a lease row
 * (`jobmanager_leader`). The leader renews the lease every third of its
 * time to live; a standby tries to take it at the same interval and wins
 * only once it has expired. Every change of holder bumps the lease's epoch,
 * the fencing token that each command to a TaskManager carries.
 *
 * Expiry is decided by the database's clock alone (epoch milliseconds from
 * `clock_timestamp()`), so the JobManagers' clocks may disagree. A leader
 * that cannot renew stops leading on its own monotonic clock before the
 * lease can expire in the database's eyes: by the time a standby may take
 * over, the old leader has already stopped (it exits; a supervisor starts it
 * again as a standby).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FreshetDatabase } from '@freshet/db';
import type { Logger } from '../logger.js';

/** Who leads, as the lease row says. */
export interface LeaderInfo {
  /** The holder's instance id. */
  holder: string;
  /** The holder's API base URL. */
  url: string;
  /** The fencing token of the holder's term. */
  epoch: number;
  /** Whether the lease has expired (nobody leads until a standby takes it). */
  expired: boolean;
}

/** Options of {@link LeaderLease}. */
export interface LeaderLeaseOptions {
  db: FreshetDatabase;
  /** This JobManager's API base URL, recorded in the lease for standbys to point clients at. */
  url: string;
  logger: Logger;
  /** How long a lease lasts without renewal. @default 3000 */
  ttlMs?: number;
  /** The cluster's name: JobManagers of one cluster share it. @default 'default' */
  name?: string;
}

/** The driver may hand an integer column back as a number or a bigint. */
interface LeaseRow {
  epoch: number | bigint;
}

interface LeaderRow {
  holder: string;
  url: string;
  epoch: number | bigint;
  expired: boolean;
}

/**
 * This JobManager's side of the leadership lease: {@link LeaderLease.campaign}
 * waits until it holds the lease, then keeps renewing it until
 * {@link LeaderLease.close}, or until a renewal fails for too long, when
 * `onLost` is called once.
 */
export class LeaderLease {
  /** This JobManager's instance id: new at every start, so a restarted leader is a new term. */
  readonly id = randomUUID();
  readonly ttlMs: number;
  readonly #o: LeaderLeaseOptions;
  readonly #name: string;
  readonly #stop = new AbortController();
  #epoch: number | undefined;
  #renewing: Promise<void> | undefined;
  #fenceTimer: NodeJS.Timeout | undefined;
  #lost = false;

  constructor(options: LeaderLeaseOptions) {
    this.#o = options;
    this.ttlMs = options.ttlMs ?? 3000;
    this.#name = options.name ?? 'default';
  }

  /** The fencing token of this JobManager's term; undefined until it leads. */
  get epoch(): number | undefined {
    return this.#lost ? undefined : this.#epoch;
  }

  /** Whether this JobManager holds the lease now. */
  get isLeader(): boolean {
    return this.epoch !== undefined;
  }

  /** How often the leader renews and a standby tries to take the lease. */
  get intervalMs(): number {
    return Math.max(50, Math.floor(this.ttlMs / 3));
  }

  /**
   * Takes the lease when it is free or expired, or renews it when this
   * JobManager holds it. Resolves with the epoch, or undefined when another
   * JobManager holds a live lease.
   */
  async tryAcquire(): Promise<number | undefined> {
    const rows = await this.#o.db.prisma.$queryRaw<LeaseRow[]>`
      WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
      INSERT INTO jobmanager_leader AS l (name, holder, url, epoch, renewed_at_ms, expires_at_ms)
      SELECT ${this.#name}, ${this.id}, ${this.#o.url}, 1, clock.ms, clock.ms + ${this.ttlMs}::int FROM clock
      ON CONFLICT (name) DO UPDATE SET
        holder = EXCLUDED.holder,
        url = EXCLUDED.url,
        epoch = CASE WHEN l.holder = EXCLUDED.holder THEN l.epoch ELSE l.epoch + 1 END,
        renewed_at_ms = EXCLUDED.renewed_at_ms,
        expires_at_ms = EXCLUDED.expires_at_ms
      WHERE l.holder = EXCLUDED.holder OR l.expires_at_ms < EXCLUDED.renewed_at_ms
      RETURNING l.epoch`;
    const epoch = rows[0]?.epoch;
    return epoch === undefined ? undefined : Number(epoch);
  }

  /** Who holds the lease now (undefined: nobody ever did). */
  async leader(): Promise<LeaderInfo | undefined> {
    const rows = await this.#o.db.prisma.$queryRaw<LeaderRow[]>`
      SELECT holder, url, epoch,
        expires_at_ms < (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS expired
      FROM jobmanager_leader WHERE name = ${this.#name}`;
    const row = rows[0];
    return row === undefined ? undefined : { ...row, epoch: Number(row.epoch) };
  }

  /**
   * Waits until this JobManager holds the lease (trying every
   * {@link LeaderLease.intervalMs}), then renews it in the background.
   * `onStandby` hears who leads meanwhile (on every change), `onLost` once
   * if leadership is lost later. Rejects if closed first.
   */
  async campaign(hooks: {
    onStandby?: (leader: LeaderInfo | undefined) => void;
    onLost: (reason: string) => void;
  }): Promise<number> {
    const signal = this.#stop.signal;
    let announced: string | undefined;
    let failures = 0;
    for (;;) {
      signal.throwIfAborted();
      const startedAt = performance.now();
      try {
        const epoch = await this.tryAcquire();
        failures = 0;
        if (epoch !== undefined) {
          this.#epoch = epoch;
          this.#armFence(startedAt, hooks.onLost);
          this.#renewing = this.#renew(hooks.onLost);
          return this.#epoch;
        }
        const leader = await this.leader();
        const key = leader === undefined ? '' : `${leader.holder}@${leader.url}#${leader.epoch}`;
        if (key !== announced) {
          announced = key;
          hooks.onStandby?.(leader);
        }
      } catch (err) {
        // A standby that cannot reach the database keeps trying: it leads nothing meanwhile.
        if (failures++ % 20 === 0)
          this.#o.logger.warn({ err: String(err) }, 'Leadership: the database did not answer; retrying');
      }
      await sleep(this.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Stops renewing (and campaigning). Does not release the lease: a clean stop lets it expire, as a crash would. */
  async close(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#fenceTimer);
    // A renewal hung on an unanswering database is abandoned (its result is ignored once stopped).
    await Promise.race([this.#renewing, sleep(this.ttlMs, undefined, { ref: false })]);
  }

  /** Gives the lease up at once (a clean shutdown): a standby takes over without waiting for the expiry. */
  async release(): Promise<void> {
    await this.close();
    if (this.#epoch === undefined || this.#lost) return;
    await this.#o.db.prisma.$executeRaw`
      UPDATE jobmanager_leader SET expires_at_ms = 0 WHERE name = ${this.#name} AND holder = ${this.id}`;
  }

  /**
   * The lease is good until `ttl` after the renewal that succeeded began (the
   * database stamped it no earlier): stop leading a safety margin before
   * that, unless a later renewal re-arms this.
   */
  #armFence(renewalStartedAt: number, onLost: (reason: string) => void): void {
    clearTimeout(this.#fenceTimer);
    const margin = Math.max(25, Math.floor(this.ttlMs / 6));
    const wait = renewalStartedAt + this.ttlMs - margin - performance.now();
    this.#fenceTimer = setTimeout(
      () => {
        this.#lose(`the lease could not be renewed within ${this.ttlMs - margin} ms`, onLost);
      },
      Math.max(0, wait),
    );
    this.#fenceTimer.unref();
  }

  async #renew(onLost: (reason: string) => void): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted && !this.#lost) {
      await sleep(this.intervalMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted || this.#lost) return;
      const startedAt = performance.now();
      try {
        const epoch = await this.tryAcquire();
        if (signal.aborted || this.#lost) return;
        if (epoch === undefined || epoch !== this.#epoch) {
          const leader = await this.leader().catch(() => undefined);
          this.#lose(
            `another JobManager holds the lease${leader === undefined ? '' : ` (${leader.url}, epoch ${leader.epoch})`}`,
            onLost,
          );
          return;
        }
        this.#armFence(startedAt, onLost);
      } catch (err) {
        // The fence timer decides: a blip shorter than the margin costs nothing.
        this.#o.logger.warn({ err: String(err) }, 'Leadership: renewing the lease failed');
      }
    }
  }

  #lose(reason: string, onLost: (reason: string) => void): void {
    if (this.#lost || this.#stop.signal.aborted) return;
    this.#lost = true;
    clearTimeout(this.#fenceTimer);
    this.#stop.abort();
    onLost(reason);
  }
}
