/**
 * CPU profiles of a job process, taken inside its sandbox. The inspector
 * (`node:inspector`) is closed there — Node's permission model refuses
 * `Session.connect()` — so the profile comes from V8's tracing CPU
 * profiler instead: enabling the trace category
 * `disabled-by-default-v8.cpu_profiler` from the process's main thread
 * starts a sampling profiler in every isolate, the slots' worker threads
 * included, and Node writes their samples as `ProfileChunk` events into the
 * trace file the process was started with (`--trace-event-file-pattern`,
 * inside its private directory). After the profile's time the category is
 * disabled, the events this session appended are read back and folded into
 * a {@link FlameNode} tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  flameTreeOf,
  parseTraceEvents,
  profilesOfTraceEvents,
  type FlameNode,
} from '../profiling/flame-tree.js';

/** The trace file pattern a job process starts with, inside its private directory. */
export function traceFilePattern(workDir: string): string {
  return join(workDir, 'cpu-trace-${rotation}.log');
}

const TRACE_FILE = /^cpu-trace-\d+\.log$/;
const CATEGORY = 'disabled-by-default-v8.cpu_profiler';

/** Shortest and longest profile. */
export const PROFILE_MIN_MS = 100;
export const PROFILE_MAX_MS = 30_000;

let running = false;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Sizes of the trace files in `dir` now. */
function traceSizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(dir))
    if (TRACE_FILE.test(name)) out.set(name, statSync(join(dir, name)).size);
  return out;
}

/**
 * Profiles every thread of this process for `durationMs` and returns the
 * flame tree (root `rootName`, one child per thread). One profile at a time.
 */
export async function profileThisProcess(
  workDir: string,
  durationMs: number,
  rootName: string,
): Promise<FlameNode> {
  if (running) throw new Error('A CPU profile of this job process is already being taken');
  running = true;
  try {
    // Imported here: `node:trace_events` throws on import in a worker thread, and this module is
    // reachable from code that runs in workers (the runtime's entry).
    const { createTracing } = await import('node:trace_events');
    const before = traceSizes(workDir);
    const tracing = createTracing({ categories: [CATEGORY] });
    tracing.enable();
    await sleep(Math.min(Math.max(durationMs, PROFILE_MIN_MS), PROFILE_MAX_MS));
    tracing.disable();
    // Node writes the last chunks shortly after: read once the files stopped growing.
    let sizes = traceSizes(workDir);
    for (let i = 0; i < 20; i++) {
      await sleep(100);
      const now = traceSizes(workDir);
      const same = [...now].every(([name, size]) => sizes.get(name) === size) && now.size === sizes.size;
      sizes = now;
      if (same && i >= 1) break;
    }
    const events: unknown[] = [];
    for (const [name, size] of sizes) {
      const from = before.get(name) ?? 0;
      if (size <= from) continue;
      const text = readFileSync(join(workDir, name)).subarray(from).toString('utf8');
      events.push(...parseTraceEvents(text));
    }
    return flameTreeOf(rootName, profilesOfTraceEvents(events));
  } finally {
    running = false;
  }
}
