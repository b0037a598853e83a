import {
  TaskManagerCommandSchema,
  type RegisterTaskManagerOutput,
  type TaskManagerCommand,
} from '@freshet/protocol';
import type { Unsubscribable } from '@trpc/server/observable';
import { errorCode, type DeploymentClient } from './control-client.js';
import type { Logger } from './logger.js';

/** Options of {@link CommandStream}. */
export interface CommandStreamOptions {
  client: DeploymentClient;
  logger: Logger;
  onCommand: (command: TaskManagerCommand) => void;
  /** The JobManager refused the session on the subscription (it restarted): register again. */
  onSessionRefused: () => void;
  /** First resubscription delay; doubles up to 5 s. @default 200 */
  initialBackoffMs?: number;
}

/** Unwraps tRPC's `tracked()` envelope (`{ id, data }`) if the server used one. */
function unwrap(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !('type' in value) && 'data' in value) return value.data;
  return value;
}

/**
 * The `taskManagers.commands` subscription of the current session. It
 * subscribes again, with backoff, whenever the stream ends or fails (the
 * JobManager restarted or the network blinked), and when the session changes.
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

  constructor(opts: CommandStreamOptions) {
    this.#opts = opts;
    this.#backoff = opts.initialBackoffMs ?? 200;
  }

  /** Subscribes with `session` (replacing any earlier subscription). */
  setSession(session: RegisterTaskManagerOutput): void {
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
    this.#subscription = client.taskManagers.commands.subscribe(
      { taskManagerId: session.taskManagerId, token: session.token },
      {
        onStarted: () => {
          if (!current()) return;
          this.#backoff = this.#opts.initialBackoffMs ?? 200;
          logger.debug({ taskManagerId: session.taskManagerId }, 'Subscribed to JobManager commands');
        },
        // A command that arrives on a replaced stream still counts: the JobManager handed it out.
        onData: (value: unknown) => {
          const parsed = TaskManagerCommandSchema.safeParse(unwrap(value));
          if (!parsed.success) {
            logger.warn({ err: parsed.error.message }, 'Ignoring a malformed command from the JobManager');
            return;
          }
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
      },
    );
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
