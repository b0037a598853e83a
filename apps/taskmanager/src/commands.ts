import {
  CommandFencingSchema,
  TaskManagerCommandSchema,
  type RegisterTaskManagerOutput,
  type TaskManagerCommand,
} from '@freshet/protocol';
import type { Unsubscribable } from '@trpc/server/observable';
import { errorCode, type ControlPlaneClient } from './control-client.js';
import type { Logger } from './logger.js';

/** Options of {@link CommandStream}. */
export interface CommandStreamOptions {
  client: ControlPlaneClient;
  logger: Logger;
  /** A command, once: each number of the session is handed over at most once. */
  onCommand: (command: TaskManagerCommand) => void;
  /** The JobManager refused the session on the subscription (it restarted): register again. */
  onSessionRefused: () => void;
  /**
   * With high availability: whether a command carrying this leader epoch may
   * be acted on (false: a deposed leader sent it, and it is dropped).
   * @default every command is admitted
   */
  admit?: (leaderEpoch: number | undefined, what: string) => boolean;
  /** First resubscription delay; doubles up to 5 s. @default 200 */
  initialBackoffMs?: number;
}

/** Unwraps tRPC's `tracked()` envelope (`{ id, data }`): the command and its number in the session. */
function unwrap(value: unknown): { id: number | undefined; data: unknown } {
  if (typeof value === 'object' && value !== null && !('type' in value) && 'data' in value) {
    const id = 'id' in value ? Number(value.id) : NaN;
    return { id: Number.isInteger(id) && id > 0 ? id : undefined, data: value.data };
  }
  return { id: undefined, data: value };
}

/**
 * The `taskManagers.commands` subscription of the current session. It
 * subscribes again, with backoff, whenever the stream ends or fails (the
 * JobManager restarted or the network blinked), and when the session changes.
 *
 * Commands are numbered per session. A new subscription of the same session
 * passes the number of the last command handled as `lastEventId`, so the
 * JobManager sends the rest again and none is lost; a number seen before is
 * not handed over twice.
 */
export class CommandStream {
  readonly #opts: CommandStreamOptions;
  #session: RegisterTaskManagerOutput | undefined;
  #subscription: Unsubscribable | undefined;
  #retry: NodeJS.Timeout | undefined;
  #backoff: number;
  #stopped = false;
  /** Bumped for every subscription: callbacks of replaced ones are ignored. */
  #generation = 0;
  /** Number of the newest command handled in this session (0: none). */
  #lastId = 0;

  constructor(opts: CommandStreamOptions) {
    this.#opts = opts;
    this.#backoff = opts.initialBackoffMs ?? 200;
  }

  /** The number of the newest command handled in this session, for heartbeats (0: none). */
  get lastCommandId(): number {
    return this.#lastId;
  }

  /** Subscribes with `session` (replacing any earlier subscription). */
  setSession(session: RegisterTaskManagerOutput): void {
    if (this.#session?.token !== session.token) this.#lastId = 0;
    this.#session = session;
    this.#backoff = this.#opts.initialBackoffMs ?? 200;
    this.#subscribe();
  }

  /** Ends the subscription for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #subscribe(): void {
    clearTimeout(this.#retry);
    // Unsubscribing completes the old stream synchronously; its onComplete must not schedule a
    // retry that would replace the new subscription (which would then complete and retry, forever).
    const generation = ++this.#generation;
    const current = (): boolean => generation === this.#generation && !this.#stopped;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    const session = this.#session;
    if (this.#stopped || session === undefined) return;
    const { client, logger, onCommand } = this.#opts;
    const input =
      this.#lastId > 0
        ? { taskManagerId: session.taskManagerId, token: session.token, lastEventId: String(this.#lastId) }
        : { taskManagerId: session.taskManagerId, token: session.token };
    this.#subscription = client.taskManagers.commands.subscribe(input, {
      onStarted: () => {
        if (!current()) return;
        this.#backoff = this.#opts.initialBackoffMs ?? 200;
        logger.debug({ taskManagerId: session.taskManagerId }, 'Subscribed to JobManager commands');
      },
      // A command arriving on a replaced stream of this session still counts (its number keeps it from being handled twice).
      onData: (value: unknown) => {
        const { id, data } = unwrap(value);
        // A replaced stream of an older session must not hand over its commands as this session's.
        if (this.#session?.token !== session.token) return;
        if (id !== undefined && id <= this.#lastId) return;
        const parsed = TaskManagerCommandSchema.safeParse(data);
        if (!parsed.success) {
          logger.warn({ err: parsed.error.message }, 'Ignoring a malformed command from the JobManager');
          return;
        }
        if (id !== undefined) this.#lastId = id;
        const epoch = CommandFencingSchema.safeParse(data);
        const admit = this.#opts.admit;
        if (
          admit !== undefined &&
          !admit(epoch.success ? epoch.data.leaderEpoch : undefined, `command ${parsed.data.type}`)
        )
          return;
        onCommand(parsed.data);
      },
      onError: (err: unknown) => {
        if (!current()) return;
        const code = errorCode(err);
        if (code === 'UNAUTHORIZED' || code === 'NOT_FOUND') {
          logger.warn({ code }, 'JobManager refused the command subscription; registering again');
          this.#subscription = undefined;
          this.#opts.onSessionRefused();
          return;
        }
        logger.warn(
          { err: String(err), retryInMs: this.#backoff },
          'Command subscription failed; subscribing again',
        );
        this.#scheduleRetry();
      },
      onComplete: () => {
        if (!current()) return;
        this.#scheduleRetry();
      },
    });
  }

  #scheduleRetry(): void {
    if (this.#stopped) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#subscribe();
    }, this.#backoff);
    this.#backoff = Math.min(5000, this.#backoff * 2);
  }
}
