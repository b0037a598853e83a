/** One frame of a flame tree, as `profiles.cpu` returns it. */
export interface FlameFrame {
  name: string;
  url?: string | undefined;
  line?: number | undefined;
  self: number;
  total: number;
  children: FlameFrame[];
}

/** A frame placed in a flame graph: `x` and `width` are shares (0–1) of the graph's width, `depth` its row. */
export interface PlacedFrame {
  frame: FlameFrame;
  /** Path of child indexes from the root (`[]` for the root), to zoom to it. */
  path: number[];
  x: number;
  width: number;
  depth: number;
}

/** The frame at `path` below `root` (the root itself for a path that leads nowhere). */
export function frameAt(root: FlameFrame, path: readonly number[]): FlameFrame {
  let f = root;
  for (const i of path) {
    const next = f.children[i];
    if (next === undefined) return f;
    f = next;
  }
  return f;
}

/**
 * Lays a flame tree out top-down (an icicle, as Flink's flame graph is):
 * the focused frame spans the whole width, each child a share of its
 * parent's width as large as its share of the parent's time, children
 * side by side in their order. Frames narrower than `minWidth` (a share)
 * are left out with everything below them, so a big profile stays cheap
 * to draw.
 */
export function flameLayout(
  root: FlameFrame,
  focus: readonly number[] = [],
  minWidth = 0.002,
): PlacedFrame[] {
  const top = frameAt(root, focus);
  const out: PlacedFrame[] = [];
  const place = (frame: FlameFrame, path: number[], x: number, width: number, depth: number): void => {
    out.push({ frame, path, x, width, depth });
    if (frame.total <= 0) return;
    let cx = x;
    frame.children.forEach((child, i) => {
      const w = (width * child.total) / frame.total;
      if (w >= minWidth) place(child, [...path, i], cx, w, depth + 1);
      cx += w;
    });
  };
  place(top, [...focus], 0, 1, 0);
  return out;
}

/** A warm color for a frame, stable per function (so the same function keeps its color across profiles). */
export function frameColor(frame: FlameFrame): string {
  let h = 0;
  const key = `${frame.name}${frame.url ?? ''}`;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  const hue = 10 + (Math.abs(h) % 45);
  const light = 55 + (Math.abs(h >> 8) % 15);
  return `hsl(${hue} 85% ${light}%)`;
}

/** V8's pseudo-frame for time a thread sat waiting (no JavaScript, no GC). */
export const IDLE_FRAME = '(idle)';

/**
 * The tree without idle time: every `(idle)` frame is dropped and the
 * totals above it shrink by its time, so the graph shows where the CPU
 * went (an unloaded worker is mostly idle).
 */
export function withoutIdle(frame: FlameFrame): FlameFrame {
  const children: FlameFrame[] = [];
  let total = frame.self;
  for (const c of frame.children) {
    if (c.name === IDLE_FRAME) continue;
    const kept = withoutIdle(c);
    children.push(kept);
    total += kept.total;
  }
  return { ...frame, total, children };
}
