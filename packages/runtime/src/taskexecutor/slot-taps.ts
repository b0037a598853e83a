/**
 * The edge taps of one slot: sets an {@link EdgeTap} on the record writer of
 * every subtask here that writes into a tapped edge, drains them on a timer
 * (posting the samples to the host) and takes them off again when the tap's
 * time to live ran out without a renewal, or on `untapEdge`. Nothing runs
 * while no edge is tapped: no timer, and every writer's `tap` is null.
 */
import { EdgeTap } from '../network/edge-tap.js';
import type { RecordWriter } from '../network/record-writer.js';
import type { StreamTask } from '../task/stream-task.js';
import type { TapSampleMessage, WorkerMessage } from './messages.js';

/** Longest time to live a tap may ask for. */
export const MAX_TAP_TTL_MS = 60_000;
/** Most records a tap takes per second and subtask. */
export const MAX_TAP_RECORDS_PER_SECOND = 100;

/** What the taps need of a subtask. */
export type TappableTask = Pick<StreamTask, 'subtaskIndex' | 'writerOf'> & { vertex: { id: string } };

interface ActiveTap {
  expiresAt: number;
  perInterval: number;
  writers: { task: TappableTask; writer: RecordWriter; tap: EdgeTap }[];
}

/** Options of {@link SlotTaps}. */
export interface SlotTapsOptions {
  /** The slot's subtasks (looked up again at each renewal: subtasks deployed later are tapped then). */
  tasks: () => readonly TappableTask[];
  post: (message: WorkerMessage) => void;
  /** How often taps are drained. @default 1000 */
  intervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The taps of one slot's record writers. */
export class SlotTaps {
  readonly #o: SlotTapsOptions;
  readonly #interval: number;
  readonly #taps = new Map<string, ActiveTap>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SlotTapsOptions) {
    this.#o = options;
    this.#interval = options.intervalMs ?? 1000;
  }

  /** Edges tapped here now. */
  get active(): number {
    return this.#taps.size;
  }

  /** Taps (or renews the tap of) edge `edgeId` for `ttlMs`, taking up to `maxPerSecond` records per subtask. */
  tap(edgeId: string, ttlMs: number, maxPerSecond: number): void {
    const now = (this.#o.now ?? Date.now)();
    const ttl = Math.min(Math.max(0, ttlMs), MAX_TAP_TTL_MS);
    const rate = Math.min(Math.max(1, maxPerSecond), MAX_TAP_RECORDS_PER_SECOND);
    // Rounded down, so a tap never takes more than it was asked for (but at least one record per drain).
    const perInterval = Math.max(1, Math.floor((rate * this.#interval) / 1000));
    let t = this.#taps.get(edgeId);
    if (t === undefined) {
      t = { expiresAt: now + ttl, perInterval, writers: [] };
      this.#taps.set(edgeId, t);
    }
    t.expiresAt = now + ttl;
    if (t.perInterval !== perInterval) {
      // A new rate: the writers get new taps below.
      for (const w of t.writers) if (w.writer.tap === w.tap) w.writer.tap = null;
      t.writers = [];
      t.perInterval = perInterval;
    }
    for (const task of this.#o.tasks()) {
      if (t.writers.some((w) => w.task === task)) continue;
      const writer = task.writerOf(edgeId);
      if (writer === undefined) continue;
      const tap = new EdgeTap({ perInterval });
      writer.tap = tap;
      t.writers.push({ task, writer, tap });
    }
    this.#timer ??= setInterval(() => {
      this.#tick();
    }, this.#interval);
  }

  /** Takes the tap of edge `edgeId` off (what it sampled last is still posted). */
  untap(edgeId: string): void {
    const t = this.#taps.get(edgeId);
    if (t === undefined) return;
    this.#post(edgeId, t);
    for (const w of t.writers) if (w.writer.tap === w.tap) w.writer.tap = null;
    this.#taps.delete(edgeId);
    if (this.#taps.size === 0) this.close();
  }

  /** Stops the timer and takes every tap off. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const t of this.#taps.values())
      for (const w of t.writers) if (w.writer.tap === w.tap) w.writer.tap = null;
    this.#taps.clear();
  }

  #post(edgeId: string, t: ActiveTap): void {
    const samples: TapSampleMessage[] = [];
    for (const w of t.writers)
      for (const s of w.tap.drain())
        samples.push({ ...s, vertexId: w.task.vertex.id, subtask: w.task.subtaskIndex });
    if (samples.length > 0) this.#o.post({ type: 'tapSamples', edgeId, samples });
  }

  #tick(): void {
    const now = (this.#o.now ?? Date.now)();
    for (const [edgeId, t] of [...this.#taps]) {
      if (now >= t.expiresAt) this.untap(edgeId);
      else this.#post(edgeId, t);
    }
  }
}
