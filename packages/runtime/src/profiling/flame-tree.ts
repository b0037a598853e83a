/**
 * CPU profiles as flame trees: V8's sampled call trees (a `.cpuprofile`, or
 * the `ProfileChunk` trace events its tracing CPU profiler writes) folded
 * into one tree of frames with the time spent in each (self) and under it
 * (total), pruned to a bound so it crosses processes and reaches a browser
 * small. The dashboard draws the tree as a flame graph.
 */

/** One frame of a flame tree. */
export interface FlameNode {
  /** Function name (`(anonymous)` for an unnamed function, V8's `(program)`, `(idle)`, `(garbage collector)`). */
  name: string;
  /** Script of the function, when it has one. */
  url?: string;
  /** 1-based line of the function in its script. */
  line?: number;
  /** Milliseconds sampled in this frame itself. */
  self: number;
  /** Milliseconds sampled in this frame and below. */
  total: number;
  children: FlameNode[];
}

/** A node of V8's CPU profile (`Profiler.stop`'s `profile.nodes`, or a trace chunk's `cpuProfile.nodes`). */
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url?: string; lineNumber?: number; columnNumber?: number };
  /** Set in trace chunks. */
  parent?: number;
  /** Set in `.cpuprofile` files. */
  children?: number[];
}

/** A CPU profile: call tree nodes, and the sampled node of each tick with the time before it (µs). */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Bounds of a flame tree. */
export interface FlameLimits {
  /** Frames kept at most (the smallest subtrees go first). @default 4000 */
  maxNodes?: number;
  /** Depth kept; deeper time counts as its last kept ancestor's own. @default 96 */
  maxDepth?: number;
  /** Frames with less total time than this share of the root's are folded into their parent. @default 0.001 */
  minShare?: number;
}

/** A frame while the tree is built: children by their frame key. */
interface Building {
  name: string;
  url: string | undefined;
  line: number | undefined;
  self: number;
  children: Map<string, Building>;
}

const newFrame = (name: string, url?: string, line?: number): Building => ({
  name,
  url,
  line,
  self: 0,
  children: new Map(),
});

/** Adds `profile`'s samples under `root`, merging frames of equal function, script and line at equal paths. */
function addProfile(root: Building, profile: CpuProfile, maxDepth: number): void {
  const byId = new Map<number, CpuProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) {
    if (n.parent !== undefined) parentOf.set(n.id, n.parent);
    for (const c of n.children ?? []) parentOf.set(c, n.id);
  }
  // Each node's frame in the merged tree, found once.
  const frameOf = new Map<number, Building>();
  const resolve = (id: number): Building => {
    const known = frameOf.get(id);
    if (known !== undefined) return known;
    // The path from V8's (root) down to this node (its root itself is `root`).
    const path: CpuProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined) break;
      path.push(n);
    }
    path.reverse();
    let frame = root;
    for (let i = 1; i < path.length && i <= maxDepth; i++) {
      const cf = path[i]!.callFrame;
      const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
      const url = cf.url === undefined || cf.url === '' ? undefined : cf.url;
      const line = cf.lineNumber === undefined || cf.lineNumber < 0 ? undefined : cf.lineNumber + 1;
      const key = `${name}\u0000${url ?? ''}\u0000${line ?? ''}`;
      let next = frame.children.get(key);
      if (next === undefined) frame.children.set(key, (next = newFrame(name, url, line)));
      frame = next;
    }
    frameOf.set(id, frame);
    return frame;
  };
  const n = Math.min(profile.samples.length, profile.timeDeltas.length);
  for (let i = 0; i < n; i++) {
    // A sample's time is the delta to the next one (the last takes its own delta).
    const delta = profile.timeDeltas[i + 1 < n ? i + 1 : i]!;
    resolve(profile.samples[i]!).self += Math.max(0, delta) / 1000;
  }
}

function totalOf(f: Building, totals: Map<Building, number>): number {
  let t = f.self;
  for (const c of f.children.values()) t += totalOf(c, totals);
  totals.set(f, t);
  return t;
}

/** Freezes a built tree, folding small frames into their parents and keeping at most `maxNodes`. */
function finish(root: Building, limits: Required<FlameLimits>): FlameNode {
  const totals = new Map<Building, number>();
  const all = totalOf(root, totals);
  const floor = all * limits.minShare;
  // The largest frames first (breadth by size), so the bound drops the smallest subtrees.
  let budget = limits.maxNodes - 1;
  const convert = (f: Building): FlameNode => {
    const kids = [...f.children.values()].sort((a, b) => totals.get(b)! - totals.get(a)!);
    let self = f.self;
    const children: FlameNode[] = [];
    for (const k of kids) {
      const t = totals.get(k)!;
      if (t < floor || t === 0 || budget <= 0) {
        self += t;
        continue;
      }
      budget--;
      children.push(convert(k));
    }
    const node: FlameNode = { name: f.name, self: round(self), total: round(totals.get(f)!), children };
    if (f.url !== undefined) node.url = f.url;
    if (f.line !== undefined) node.line = f.line;
    return node;
  };
  return convert(root);
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

const DEFAULT_FLAME_LIMITS: Required<FlameLimits> = { maxNodes: 4000, maxDepth: 96, minShare: 0.001 };

/** A flame tree of one or more named CPU profiles (one child of the root per profile, e.g. per thread). */
export function flameTreeOf(
  rootName: string,
  profiles: readonly { name: string; profile: CpuProfile }[],
  limits: FlameLimits = {},
): FlameNode {
  const l = { ...DEFAULT_FLAME_LIMITS, ...limits };
  const root = newFrame(rootName);
  for (const { name, profile } of profiles) {
    const child = newFrame(name);
    addProfile(child, profile, l.maxDepth);
    root.children.set(`${name}\u0000${root.children.size}`, child);
  }
  return finish(root, l);
}

/** A trace event, as Node's trace file holds them (only what is read here). */
interface TraceEvent {
  name?: unknown;
  pid?: unknown;
  tid?: unknown;
  id?: unknown;
  args?: { data?: { cpuProfile?: Partial<CpuProfile>; timeDeltas?: unknown } };
}

/**
 * The CPU profiles in trace events of V8's `disabled-by-default-v8.cpu_profiler`
 * category: a `Profile` event per profiled thread (its `tid`), then
 * `ProfileChunk`s with the same `id` that add nodes and samples. Named
 * `main thread` for the process's own thread and `worker thread <n>` for
 * the others, in the order they started.
 */
export function profilesOfTraceEvents(events: readonly unknown[]): { name: string; profile: CpuProfile }[] {
  const byId = new Map<string, { tid: unknown; pid: unknown; profile: CpuProfile }>();
  for (const raw of events) {
    const e = raw as TraceEvent;
    if (typeof e !== 'object' || e === null || typeof e.id !== 'string') continue;
    if (e.name === 'Profile') {
      if (!byId.has(e.id))
        byId.set(e.id, { tid: e.tid, pid: e.pid, profile: { nodes: [], samples: [], timeDeltas: [] } });
      continue;
    }
    if (e.name !== 'ProfileChunk') continue;
    let p = byId.get(e.id);
    if (p === undefined)
      byId.set(
        e.id,
        (p = { tid: undefined, pid: e.pid, profile: { nodes: [], samples: [], timeDeltas: [] } }),
      );
    const data = e.args?.data;
    const cpu = data?.cpuProfile;
    if (Array.isArray(cpu?.nodes)) p.profile.nodes.push(...cpu.nodes);
    const samples = Array.isArray(cpu?.samples) ? cpu.samples : [];
    const deltas = Array.isArray(data?.timeDeltas) ? (data.timeDeltas as number[]) : [];
    const n = Math.min(samples.length, deltas.length);
    for (let i = 0; i < n; i++) {
      p.profile.samples.push(samples[i]!);
      p.profile.timeDeltas.push(deltas[i]!);
    }
  }
  let workers = 0;
  const out: { name: string; profile: CpuProfile }[] = [];
  for (const p of byId.values()) {
    if (p.profile.samples.length === 0) continue;
    out.push({
      name: p.tid !== undefined && p.tid === p.pid ? 'main thread' : `worker thread ${++workers}`,
      profile: p.profile,
    });
  }
  return out;
}

/**
 * The events of a trace file Node is still writing: `{"traceEvents":[` …
 * events, each followed by a comma, without the closing `]}` until the
 * process ends. `text` may also be a slice from a byte offset on (the
 * events a later trace session appended).
 */
export function parseTraceEvents(text: string): unknown[] {
  let body = text.trim();
  const start = body.indexOf('"traceEvents"');
  if (start >= 0) body = body.slice(body.indexOf('[', start) + 1);
  if (body.startsWith(',')) body = body.slice(1);
  if (body.endsWith('}') && body.trimEnd().endsWith(']}')) body = body.slice(0, body.lastIndexOf(']'));
  body = body.trimEnd();
  if (body.endsWith(',')) body = body.slice(0, -1);
  if (body === '') return [];
  return JSON.parse(`[${body}]`) as unknown[];
}
