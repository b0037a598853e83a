import { setTimeout as sleep } from 'node:timers/promises';
import { defineErrorClass, InvalidInputError } from '@freshet/errors';
import type {
  RegisterTaskManagerInput,
  RegisterTaskManagerOutput,
  RunningDeployment,
} from '@freshet/protocol';
import { errorCode, type ControlPlaneClient } from './control-client.js';
import type { HealthSampler } from './health.js';
import type { Logger } from './logger.js';

/** Options of {@link ControlSession}. */
export interface ControlSessionOptions {
  client: ControlPlaneClient;
  /** What to announce; `resourceId` keeps the identity stable across re-registrations. */
  registration: Omit<RegisterTaskManagerInput, 'running'> & { resourceId: string };
  /** What the TaskManager runs, sent with every registration and heartbeat. @default () => [] */
  running?: () => RunningDeployment[];
  /** Number of the newest command handled in this session, sent with every heartbeat. */
  lastCommandId?: () => number;
  /**
   * No heartbeat succeeded for the JobManager's heartbeat timeout: the
   * JobManager presumes this TaskManager lost and redoes its work elsewhere,
   * so it must stop its tasks. Called once per silence.
   */
  onSilent?: (silentMs: number) => void;
  health: HealthSampler;
  logger: Logger;
  /** First retry delay after a failed registration; doubles up to {@link ControlSessionOptions.maxBackoffMs}. @default 200 */
  initialBackoffMs?: number;
  /**
   * Longest wait between registration attempts: a restarted JobManager gets
   * its TaskManagers back within about this long (its jobs recover once they
   * are back). @default 2000
   */
  maxBackoffMs?: number;
  /** Time limit of one control call. @default 5000 */
  requestTimeoutMs?: number;
  /** Slots running subtasks, for the heartbeat. @default () => 0 */
  slotsUsed?: () => number;
  /** Called after every successful registration (the first and each re-registration). */
  onSession?: (session: RegisterTaskManagerOutput) => void;
}

/** Thrown when the JobManager rejects the registration itself (not a connectivity problem). Code `INVALID_INPUT`. */
export class RegistrationRejectedError extends InvalidInputError {
  static {
    defineErrorClass(this, 'RegistrationRejectedError', 'INVALID_INPUT');
  }
}

/**
 * The TaskManager's side of the control plane: registers, heartbeats at the
 * interval the JobManager asks for, and registers again (under the same
 * resource id) whenever the JobManager no longer knows the session — after a
 * JobManager restart, or after it declared this TaskManager lost.
 */
export class ControlSession {
  readonly #opts: ControlSessionOptions;
  readonly #stop = new AbortController();
  #session: RegisterTaskManagerOutput | undefined;
  /** The token of the newest session: proves this TaskManager's identity when it registers again under its resource id. */
  #lastToken: string | undefined;
  #loop: Promise<void> | undefined;
  #onRegistered: ((session: RegisterTaskManagerOutput) => void) | undefined;
  #failedHeartbeats = 0;
  /** When the JobManager last answered a heartbeat or a registration (epoch ms; 0 before the first). */
  #lastOkAt = 0;
  #silenceReported = false;
  #watchdog: NodeJS.Timeout | undefined;
  /** When the heartbeat now on its way was sent (epoch ms); undefined while none is. */
  #heartbeatSentAt: number | undefined;

  constructor(opts: ControlSessionOptions) {
    this.#opts = opts;
  }

  /** The current session, if registered. */
  get current(): RegisterTaskManagerOutput | undefined {
    return this.#session;
  }

  /**
   * Starts the control loop and returns at once. The promise resolves after the
   * first successful registration, and rejects with
   * {@link RegistrationRejectedError} if the JobManager refuses it, or when the
   * session is stopped before it registered.
   */
  start(): Promise<RegisterTaskManagerOutput> {
    const registered = new Promise<RegisterTaskManagerOutput>((resolve, reject) => {
      this.#onRegistered = resolve;
      this.#loop = this.#run().catch((err: unknown) => {
        if (this.#stop.signal.aborted) {
          reject(new Error('TaskManager stopped before it registered'));
          return;
        }
        this.#opts.logger.fatal({ err }, 'TaskManager control loop failed');
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
    return registered;
  }

  /** Stops heartbeating and deregisters (best effort, bounded by the request timeout). */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#watchdog);
    await this.#loop;
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return;
    try {
      await this.#opts.client.taskManagers.deregister.mutate(
        { taskManagerId: session.taskManagerId, token: session.token },
        { signal: AbortSignal.timeout(this.#opts.requestTimeoutMs ?? 5000) },
      );
      this.#opts.logger.info({ taskManagerId: session.taskManagerId }, 'TaskManager deregistered');
    } catch (err) {
      this.#opts.logger.warn(
        { err: String(err) },
        'Could not deregister from the JobManager; it will declare this TaskManager lost',
      );
    }
  }

  /** Drops the session so the next round registers again (the JobManager asked for it). */
  reregister(): void {
    this.#session = undefined;
    this.#wake?.abort();
  }

  /**
   * Heartbeats now instead of at the next interval (what this TaskManager
   * runs changed: freed slots reach the JobManager at once). At most one
   * extra heartbeat is pending at a time.
   */
  heartbeatSoon(): void {
    if (this.#beatNow) return;
    this.#beatNow = true;
    this.#wake?.abort();
  }

  #wake: AbortController | undefined;
  #beatNow = false;

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const session = this.#session ?? (await this.#register());
      this.#wake = new AbortController();
      // A heartbeat asked for while registering or heartbeating goes out without waiting.
      if (!this.#beatNow) {
        try {
          await sleep(session.heartbeatIntervalMs, undefined, {
            signal: AbortSignal.any([signal, this.#wake.signal]),
          });
        } catch (err) {
          if (signal.aborted) throw err;
          if (!this.#beatNow) continue;
        }
      }
      this.#beatNow = false;
      if (this.#session !== session) continue;
      await this.#heartbeat(session);
    }
  }

  async #register(): Promise<RegisterTaskManagerOutput> {
    const { client, registration, logger } = this.#opts;
    const signal = this.#stop.signal;
    let backoff = this.#opts.initialBackoffMs ?? 200;
    const maxBackoff = this.#opts.maxBackoffMs ?? 2000;
    for (let attempt = 1; ; attempt++) {
      try {
        const session = await client.taskManagers.register.mutate(
          {
            ...registration,
            running: this.#opts.running?.() ?? [],
            ...(this.#lastToken === undefined ? {} : { sessionToken: this.#lastToken }),
          },
          { signal: this.#callSignal() },
        );
        this.#session = session;
        this.#lastToken = session.token;
        this.#answered();
        this.#startWatchdog(session);
        logger.info(
          { taskManagerId: session.taskManagerId, heartbeatIntervalMs: session.heartbeatIntervalMs, attempt },
          `TaskManager registered as ${session.taskManagerId}`,
        );
        this.#onRegistered?.(session);
        this.#onRegistered = undefined;
        this.#opts.onSession?.(session);
        return session;
      } catch (err) {
        if (signal.aborted) throw err;
        const code = errorCode(err);
        if (code === 'BAD_REQUEST' || code === 'UNAUTHORIZED') {
          throw new RegistrationRejectedError(
            `The JobManager rejected the registration: ${(err as Error).message}`,
          );
        }
        // Log the first failure and then every tenth, so a long outage does not flood the log.
        if (attempt === 1 || attempt % 10 === 0) {
          logger.warn(
            { attempt, code, err: String(err), retryInMs: backoff },
            code === 'CONFLICT'
              ? // This process restarted under a fixed resource id: the old session ends at the heartbeat timeout.
                'The JobManager still holds a session under this resource id; retrying registration'
              : 'JobManager not reachable; retrying registration',
          );
        }
      }
      // Jitter spreads the re-registrations of many TaskManagers after a JobManager restart.
      await sleep(backoff * (0.75 + Math.random() * 0.5), undefined, { signal });
      backoff = Math.min(maxBackoff, backoff * 2);
    }
  }

  async #heartbeat(session: RegisterTaskManagerOutput): Promise<void> {
    const { client, health, logger } = this.#opts;
    this.#heartbeatSentAt = Date.now();
    try {
      const reply = await client.taskManagers.heartbeat.mutate(
        {
          taskManagerId: session.taskManagerId,
          token: session.token,
          health: health.sample(this.#opts.slotsUsed?.() ?? 0),
          running: this.#opts.running?.() ?? [],
          ...(this.#opts.lastCommandId === undefined ? {} : { lastCommandId: this.#opts.lastCommandId() }),
        },
        { signal: this.#callSignal() },
      );
      this.#failedHeartbeats = 0;
      if (reply.status === 'ok') this.#answered();
      if (reply.status === 'reregister') {
        logger.warn(
          { taskManagerId: session.taskManagerId, reason: reply.reason },
          'JobManager asked to register again',
        );
        this.#session = undefined;
      }
    } catch (err) {
      if (this.#stop.signal.aborted) throw err;
      const code = errorCode(err);
      if (code === 'UNAUTHORIZED' || code === 'NOT_FOUND') {
        logger.warn({ code }, 'JobManager refused the session; registering again');
        this.#session = undefined;
      } else {
        // Keep the session: if the JobManager merely blinked, the next heartbeat
        // succeeds; if it restarted, the next one is told to register again.
        this.#failedHeartbeats++;
        if (this.#failedHeartbeats === 1 || this.#failedHeartbeats % 10 === 0) {
          logger.warn({ code, failures: this.#failedHeartbeats, err: String(err) }, 'Heartbeat failed');
        }
      }
    } finally {
      this.#heartbeatSentAt = undefined;
    }
  }

  #answered(): void {
    this.#lastOkAt = Date.now();
    this.#silenceReported = false;
  }

  /**
   * Checks, about twice per heartbeat interval, whether the JobManager has
   * been silent for its timeout. A heartbeat still on its way (younger than
   * the request timeout) postpones the verdict: the JobManager may only be
   * slow (a stall of its own), and it does not count its stalls against this
   * TaskManager either; a JobManager that is gone refuses the connection at
   * once, and one that does not answer at all lets the request time out.
   */
  #startWatchdog(session: RegisterTaskManagerOutput): void {
    clearInterval(this.#watchdog);
    const timeoutMs = session.heartbeatTimeoutMs;
    const requestTimeoutMs = this.#opts.requestTimeoutMs ?? 5000;
    this.#watchdog = setInterval(
      () => {
        const now = Date.now();
        const silentMs = now - this.#lastOkAt;
        if (this.#silenceReported || silentMs < timeoutMs) return;
        const sentAt = this.#heartbeatSentAt;
        if (sentAt !== undefined && now - sentAt < requestTimeoutMs) return;
        this.#silenceReported = true;
        this.#opts.logger.warn(
          { silentMs, heartbeatTimeoutMs: timeoutMs },
          'No heartbeat succeeded within the heartbeat timeout: cancelling every task (the JobManager presumes this TaskManager lost)',
        );
        this.#opts.onSilent?.(silentMs);
      },
      Math.max(25, Math.floor(session.heartbeatIntervalMs / 2)),
    );
    this.#watchdog.unref();
  }

  #callSignal(): AbortSignal {
    return AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#opts.requestTimeoutMs ?? 5000)]);
  }
}
