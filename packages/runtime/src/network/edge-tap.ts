/**
 * An edge tap: a bounded, rate-limited sample of the records a subtask's
 * record writer sends into one output edge, for the dashboard's "what
 * crosses this edge" panel. A {@link RecordWriter} holds `tap = null` while
 * nobody looks, so the record loop pays one null check; with a tap set it
 * hands each record to {@link EdgeTap.offer}, which takes at most
 * `perInterval` records between two {@link EdgeTap.drain}s (the host drains
 * on a timer, which also ends the tap when its time to live ran out). A
 * taken record is rendered at once into a bounded JSON preview
 * ({@link previewRecord}), so later mutation of the value by a chained
 * operator does not show and nothing big is held.
 */

/** One sampled record, as it leaves the subtask. */
export interface TapSample {
  /** Event timestamp of the record; null when it has none. */
  timestamp: number | null;
  /** The record as JSON text, cut to {@link TapLimits.maxPreviewChars}. */
  preview: string;
  /** Whether the preview left something out (long strings, many entries, deep nesting, the size cap). */
  truncated: boolean;
}

/** Bounds of a preview. */
export interface TapLimits {
  /** Characters of the whole preview. @default 2048 */
  maxPreviewChars?: number;
  /** Characters kept of one string value. @default 256 */
  maxStringChars?: number;
  /** Entries kept of one array, object, map or set. @default 20 */
  maxEntries?: number;
  /** Nesting levels rendered; deeper values show as `"…"`. @default 5 */
  maxDepth?: number;
}

const DEFAULT_LIMITS: Required<TapLimits> = {
  maxPreviewChars: 2048,
  maxStringChars: 256,
  maxEntries: 20,
  maxDepth: 5,
};

/** State of one preview rendering: whether anything was cut. */
interface Rendering {
  limits: Required<TapLimits>;
  truncated: boolean;
  seen: Set<object>;
}

/** A value made JSON-safe and bounded (see {@link previewRecord}). */
function safe(value: unknown, depth: number, r: Rendering): unknown {
  switch (typeof value) {
    case 'string':
      if (value.length <= r.limits.maxStringChars) return value;
      r.truncated = true;
      return `${value.slice(0, r.limits.maxStringChars)}…`;
    case 'number':
      // JSON has no NaN or infinities; show them as words rather than `null`.
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return `${value.toString()}n`;
    case 'undefined':
      return null;
    case 'symbol':
      return value.toString();
    case 'function':
      return '[function]';
  }
  if (value === null) return null;
  const obj = value as object;
  if (depth >= r.limits.maxDepth || r.seen.has(obj)) {
    r.truncated = true;
    return '…';
  }
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (ArrayBuffer.isView(obj)) return `[${obj.constructor.name} ${obj.byteLength} bytes]`;
  if (obj instanceof ArrayBuffer) return `[ArrayBuffer ${obj.byteLength} bytes]`;
  r.seen.add(obj);
  try {
    if (Array.isArray(obj) || obj instanceof Set) {
      const items = Array.isArray(obj) ? (obj as unknown[]) : [...(obj as Set<unknown>)];
      const n = Math.min(items.length, r.limits.maxEntries);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(safe(items[i], depth + 1, r));
      if (items.length > n) {
        r.truncated = true;
        out.push(`… ${items.length - n} more`);
      }
      return out;
    }
    const entries: [string, unknown][] =
      obj instanceof Map
        ? [...(obj as Map<unknown, unknown>)].map(([k, v]) => [String(k), v])
        : Object.entries(obj);
    const out: Record<string, unknown> = {};
    const n = Math.min(entries.length, r.limits.maxEntries);
    for (let i = 0; i < n; i++) out[entries[i]![0]] = safe(entries[i]![1], depth + 1, r);
    if (entries.length > n) {
      r.truncated = true;
      out['…'] = `${entries.length - n} more`;
    }
    return out;
  } finally {
    r.seen.delete(obj);
  }
}

/**
 * Renders a record as bounded JSON text: strings cut, at most `maxEntries`
 * entries per container, `maxDepth` levels, cycles cut, values JSON cannot
 * carry (bigint, NaN, Infinity, Map, Set, Date, typed arrays, undefined)
 * shown as words, and the whole cut to `maxPreviewChars`. Never throws: a
 * getter that throws shows as the error's text.
 */
export function previewRecord(value: unknown, limits: TapLimits = {}): Omit<TapSample, 'timestamp'> {
  const r: Rendering = { limits: { ...DEFAULT_LIMITS, ...limits }, truncated: false, seen: new Set() };
  let text: string;
  try {
    text = JSON.stringify(safe(value, 0, r)) ?? 'null';
  } catch (error) {
    r.truncated = true;
    text = JSON.stringify(`[unrenderable: ${error instanceof Error ? error.message : String(error)}]`);
  }
  const max = r.limits.maxPreviewChars;
  if (text.length > max) return { preview: `${text.slice(0, max - 1)}…`, truncated: true };
  return { preview: text, truncated: r.truncated };
}

/** Options of an {@link EdgeTap}. */
export interface EdgeTapOptions extends TapLimits {
  /** Records taken between two drains. */
  perInterval: number;
  /** Samples held at most (older ones are dropped when the drains fall behind). @default 4 × perInterval */
  capacity?: number;
}

/** The sampler one record writer holds while its edge is tapped. */
export class EdgeTap {
  readonly #limits: TapLimits;
  readonly #perInterval: number;
  readonly #capacity: number;
  #samples: TapSample[] = [];
  #budget: number;
  /** Records offered since the last drain (taken or not). */
  seen = 0;
  /** Records that found no budget since the last drain. */
  skipped = 0;

  constructor(options: EdgeTapOptions) {
    this.#perInterval = Math.max(0, Math.floor(options.perInterval));
    this.#capacity = Math.max(1, options.capacity ?? this.#perInterval * 4);
    this.#budget = this.#perInterval;
    const { perInterval: _p, capacity: _c, ...limits } = options;
    this.#limits = limits;
  }

  /** One record crossing the edge: rendered and kept while the interval's budget lasts. */
  offer(value: unknown, timestamp: number): void {
    this.seen++;
    if (this.#budget === 0) {
      this.skipped++;
      return;
    }
    this.#budget--;
    if (this.#samples.length >= this.#capacity) this.#samples.shift();
    const p = previewRecord(value, this.#limits);
    this.#samples.push({
      timestamp: Number.isFinite(timestamp) ? timestamp : null,
      preview: p.preview,
      truncated: p.truncated,
    });
  }

  /** The samples since the last drain; the budget starts over. */
  drain(): TapSample[] {
    const out = this.#samples;
    this.#samples = [];
    this.#budget = this.#perInterval;
    this.seen = 0;
    this.skipped = 0;
    return out;
  }
}
