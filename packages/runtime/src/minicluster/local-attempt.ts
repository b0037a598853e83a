/**
 * One attempt of a local job: its slot workers started, wired to each other
 * (one MessageChannel per pair of slots) and supervised until the attempt
 * finishes, fails (a task failed, a worker crashed or exited) or is stopped.
 * The job loop (`mini-cluster.ts`) runs attempts one after the other and
 * plays the JobManager's part; this module knows nothing of checkpoints
 * beyond passing their messages through.
 */
import type { JobGraph } from '@freshet/graph';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { TaskSettings } from '../task/stream-task.js';
import type {
  ExecutorMessage,
  SlotRestore,
  SlotWorkerData,
  WorkerMessage,
} from '../taskexecutor/messages.js';
import { connectSlots, startSlot, type SlotHandle } from '../taskexecutor/slot-host.js';

/** How an attempt ended. */
export interface AttemptOutcome {
  status: 'FINISHED' | 'FAILED' | 'CANCELED';
  error?: SerializedError;
}

/** Everything one attempt needs. */
export interface LocalAttemptOptions {
  program: ProgramSpec;
  jobGraph: JobGraph;
  /** The job's id (user functions see it in their runtime context). */
  jobId: string;
  slots: number;
  attempt: number;
  /** State per slot to restore from (buffers are transferred to the workers). */
  restore?: ReadonlyMap<number, SlotRestore>;
  loader?: string;
  settings?: Partial<TaskSettings>;
  initialCredits?: number;
  /** Every worker is ready and was told to start. */
  onRunning(): void;
  /** A worker's message other than the attempt's end (ready, collect, metrics, checkpoints). */
  onMessage(message: WorkerMessage): void;
}

/** A running attempt. */
export interface LocalAttempt {
  readonly attempt: number;
  /** Settles once with how the attempt ended (its workers may still be stopping). */
  readonly outcome: Promise<AttemptOutcome>;
  /** Sends a message to every worker. */
  broadcast(message: ExecutorMessage): void;
  /** Ends the attempt with `outcome` (the first call wins; a finished attempt stays finished). */
  end(outcome: AttemptOutcome): void;
  /** Stops every worker (cancelled unless the attempt finished) and resolves once they all exited. */
  stop(): Promise<void>;
}

/** The snapshot buffers of a slot's restore, for the transfer list. */
function buffersOf(restore: SlotRestore | undefined): ArrayBuffer[] {
  if (!restore) return [];
  return Object.values(restore.subtasks).flatMap((s) => s.states.map((b) => b.buffer as ArrayBuffer));
}

/** Starts an attempt's slot workers. */
export function startLocalAttempt(o: LocalAttemptOptions): LocalAttempt {
  const peers = connectSlots(Array.from({ length: o.slots }, (_, i) => i));
  const workers: SlotHandle[] = [];
  let settle!: (outcome: AttemptOutcome) => void;
  const outcome = new Promise<AttemptOutcome>((resolve) => (settle = resolve));
  let ended: AttemptOutcome | undefined;
  const broadcast = (m: ExecutorMessage): void => {
    for (const w of workers) w.post(m);
  };
  const end = (result: AttemptOutcome): void => {
    if (ended) return;
    ended = result;
    if (result.status !== 'FINISHED') broadcast({ type: 'cancel' });
    settle(result);
  };

  let ready = 0;
  let slotsFinished = 0;
  for (let slot = 0; slot < o.slots; slot++) {
    const data: SlotWorkerData = {
      slot,
      slots: o.slots,
      jobGraph: o.jobGraph,
      program: o.program,
      jobId: o.jobId,
      attempt: o.attempt,
      peers: peers.get(slot)!,
      metricsIntervalMs: 1000,
      finalCheckpoints: true,
      // The mini-cluster runs the alignment coordinator (mini-cluster.ts).
      alignWatermarks: true,
    };
    const restore = o.restore?.get(slot);
    if (restore) data.restore = restore;
    if (o.loader !== undefined) data.loader = o.loader;
    if (o.settings !== undefined) data.settings = o.settings;
    if (o.initialCredits !== undefined) data.initialCredits = o.initialCredits;
    const transfer = [...Object.values(data.peers), ...buffersOf(restore)];
    const worker = startSlot(data, transfer, `freshet-slot-${slot}`, {
      onMessage: (m) => {
        switch (m.type) {
          case 'ready':
            o.onMessage(m);
            if (++ready === o.slots && !ended) {
              broadcast({ type: 'start' });
              o.onRunning();
            }
            return;
          case 'slotFinished':
            if (++slotsFinished === o.slots) end({ status: 'FINISHED' });
            return;
          case 'failed':
            end({ status: 'FAILED', error: m.error });
            return;
          default:
            if (!ended) o.onMessage(m);
        }
      },
      onError: (error) => {
        end({
          status: 'FAILED',
          error: { name: error.name, message: error.message, stack: error.stack ?? '' },
        });
      },
      onExit: (code) => {
        end({
          status: 'FAILED',
          error: {
            name: 'SlotExitedError',
            message: `slot ${slot} exited with code ${code} (did a user function call process.exit?)`,
          },
        });
      },
    });
    workers.push(worker);
  }

  return {
    attempt: o.attempt,
    outcome,
    broadcast,
    end,
    async stop() {
      if (!ended) end({ status: 'CANCELED' });
      // Let workers drain (stdout of print sinks) and exit on their own; terminate stragglers.
      broadcast({ type: 'shutdown' });
      const kill = setTimeout(
        () => {
          for (const w of workers) w.terminate();
        },
        ended?.status === 'FINISHED' ? 2000 : 500,
      );
      await Promise.all(workers.map((w) => w.exited));
      clearTimeout(kill);
    },
  };
}
