/**
 * The child process that hosts one job's slots on a TaskManager (started by
 * `process-host.ts`, isolated as `isolation.ts` describes: bubblewrap where
 * available, Node's permission model, an empty environment). Its main
 * thread starts the slots as worker threads with a heap limit each, relays
 * their messages and uplinks over the IPC channel, and runs the watchdog: a
 * slot whose event loop stops beating for the configured time is stopped,
 * and its job fails naming the operator chain and the user function it was
 * in. Whatever user code does here — exit, loop, allocate without bound —
 * it takes down at most this process, never the TaskManager.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { frameOf, PacketConnection } from '../network/local/packet-connection.js';
import type { SerializedError } from '../task/errors.js';
import type { FromJobProcess, JobProcessInit, ToJobProcess } from './job-process-protocol.js';
import { threadSlots, type SlotHandle } from './slot-host.js';
import { profileThisProcess } from './process-profiler.js';
import { BEAT, newWatchdogMemory, SLICE_SUBTASK, SLICE_VERTEX } from './watchdog.js';

function send(message: FromJobProcess): void {
  process.send?.(message);
}

const handles = new Map<number, SlotHandle>();
const uplinks = new Map<number, PacketConnection>();
let workDir: string | undefined;
let jobId = '';

process.on('message', (message: ToJobProcess) => {
  switch (message.t) {
    case 'init':
      init(message);
      return;
    case 'm':
      handles.get(message.s)?.post(message.m);
      return;
    case 'k':
      handles.get(message.s)?.terminate();
      return;
    case 'u':
      uplinks.get(message.s)?.deliver(message);
      return;
    case 'prof': {
      const { id } = message;
      if (workDir === undefined) {
        send({ t: 'prof', id, error: 'The job process has not started yet' });
        return;
      }
      profileThisProcess(workDir, message.durationMs, `job ${jobId}`).then(
        (tree) => {
          send({ t: 'prof', id, tree });
        },
        (error: unknown) => {
          send({ t: 'prof', id, error: error instanceof Error ? error.message : String(error) });
        },
      );
      return;
    }
    case 'bye':
      process.exit(0);
  }
});
// The TaskManager is gone: so is this job here.
process.once('disconnect', () => process.exit(0));

function init(message: JobProcessInit): void {
  workDir = message.workDir;
  jobId = message.jobId;
  const digest = createHash('sha256').update(message.bundleSource).digest('hex').slice(0, 16);
  const bundlePath = join(message.workDir, `program-${digest}.mjs`);
  writeFileSync(bundlePath, message.bundleSource);
  const memories = new Map<number, SharedArrayBuffer>();
  const specs = message.slots.map((spec) => {
    const watchdog = newWatchdogMemory();
    memories.set(spec.slot, watchdog);
    const settings =
      message.spillDir === undefined
        ? spec.settings
        : { ...spec.settings, groupedInputDir: message.spillDir };
    return {
      ...spec,
      program: { ...spec.program, bundlePath },
      watchdog,
      ...(settings === undefined ? {} : { settings }),
    };
  });
  const started = threadSlots({ maxOldGenerationSizeMb: message.heapMiB }).start({
    jobId: message.jobId,
    slots: specs,
    remoteSlots: message.remoteSlots,
    listener: (s) => ({
      onMessage: (m) => {
        send({ t: 'w', s, m });
      },
      onError: (error) => {
        send({ t: 'e', s, error: { name: error.name, message: error.message, stack: error.stack ?? '' } });
      },
      onExit: (code) => {
        send({ t: 'x', s, code });
      },
    }),
  });
  for (const [s, handle] of started.handles) handles.set(s, handle);
  for (const [s, { conn, closed }] of started.uplinks) {
    const up = new PacketConnection((packet) => {
      send({ t: 'u', s, ...packet });
    });
    uplinks.set(s, up);
    conn.open({
      onData: (channel, event) => {
        up.sendData(channel, frameOf(event));
      },
      onCredit: (channel, credits) => {
        up.sendCredit(channel, credits);
      },
    });
    up.open({
      onData: (channel, event) => {
        conn.sendData(channel, frameOf(event));
      },
      onCredit: (channel, credits) => {
        conn.sendCredit(channel, credits);
      },
    });
    void closed.then(() => {
      up.close();
      send({ t: 'uc', s });
    });
  }
  if (message.watchdogMs > 0) watch(message, memories, bundlePath);
}

/** Stops a slot whose beat stopped for `watchdogMs`, failing its job with what it was doing. */
function watch(message: JobProcessInit, memories: Map<number, SharedArrayBuffer>, bundlePath: string): void {
  const last = new Map<number, { beat: number; at: number }>();
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [s, memory] of memories) {
        const view = new Int32Array(memory);
        const beat = Atomics.load(view, BEAT);
        const seen = last.get(s);
        if (seen === undefined || seen.beat !== beat) {
          last.set(s, { beat, at: now });
          continue;
        }
        if (now - seen.at < message.watchdogMs) continue;
        memories.delete(s);
        const handle = handles.get(s);
        const error = stuck(message, s, view, handle?.threadId, bundlePath);
        send({
          t: 'w',
          s,
          m: {
            type: 'failed',
            error,
            ...(error.vertex === undefined ? {} : { vertexId: error.vertex, subtask: error.subtask ?? 0 }),
          },
        });
        handle?.terminate();
      }
      if (memories.size === 0) clearInterval(timer);
    },
    Math.max(20, Math.min(1000, Math.floor(message.watchdogMs / 4))),
  );
  timer.unref();
}

/** The failure of a slot stuck in user code: the subtask whose slice never ended, and where its thread is. */
function stuck(
  message: JobProcessInit,
  slot: number,
  memory: Int32Array,
  threadId: number | undefined,
  bundlePath: string,
): SerializedError {
  const vertexIndex = Atomics.load(memory, SLICE_VERTEX);
  const vertex = vertexIndex > 0 ? message.slots[0]?.jobGraph.vertices[vertexIndex - 1] : undefined;
  const subtask = Atomics.load(memory, SLICE_SUBTASK);
  const frames = stackOf(threadId, bundlePath, message.bundleSource);
  const where = frames.find((f) => !f.includes('node:internal'));
  const what =
    vertex === undefined
      ? `The program in slot ${slot} (planning or a timer, outside any subtask's records)`
      : `The user function of operator chain '${vertex.name}' (subtask ${subtask})`;
  const name = 'UserFunctionTimeoutError';
  const text = `${what} has not returned for ${message.watchdogMs} ms${where === undefined ? '' : ` (${where.trim()})`}; the watchdog stopped it (TaskManager setting --task-watchdog-ms)`;
  const error: SerializedError = {
    name,
    code: 'USER_FUNCTION_FAILED',
    message: text,
    // A stack as Node writes one: the message first, then the stuck thread's frames.
    stack: [`${name}: ${text}`, ...frames.map((f) => `    ${f}`)].join('\n'),
  };
  if (vertex !== undefined) {
    error.operator = vertex.name;
    error.vertex = vertex.id;
    error.subtask = subtask;
  }
  return error;
}

/** The JavaScript stack of a (stuck) worker thread, from a diagnostic report, its program frames source-mapped. */
function stackOf(threadId: number | undefined, bundlePath: string, bundleSource: string): string[] {
  if (threadId === undefined) return [];
  let report: unknown;
  try {
    report = process.report.getReport();
  } catch {
    return [];
  }
  const workers = (
    report as { workers?: { header?: { threadId?: number }; javascriptStack?: { stack?: string[] } }[] }
  ).workers;
  const frames = workers?.find((w) => w.header?.threadId === threadId)?.javascriptStack?.stack ?? [];
  return frames.map(sourceMapped(bundlePath, bundleSource));
}

/** Rewrites `program-….mjs:line:column` in a stack frame to the program's own file and position. */
function sourceMapped(bundlePath: string, bundleSource: string): (frame: string) => string {
  const url = pathToFileURL(bundlePath).href;
  let map: SourceMap | null | undefined;
  return (frame) => {
    const at = frame.indexOf(url);
    if (at < 0) return frame;
    const match = /^:(\d+):(\d+)/.exec(frame.slice(at + url.length));
    if (match === null) return frame;
    map ??= loadMap(bundleSource);
    const entry = map?.findEntry(Number(match[1]) - 1, Number(match[2]) - 1);
    if (entry === undefined || !('originalSource' in entry)) return frame;
    const original = `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    return frame.slice(0, at) + original + frame.slice(at + url.length + match[0].length);
  };
}

/** The inline source map of the bundle, if it has one. */
function loadMap(source: string): SourceMap | null {
  const inline = /\/\/# sourceMappingURL=data:application\/json[^,]*;base64,([A-Za-z0-9+/=]+)\s*$/.exec(
    source,
  );
  if (inline === null) return null;
  try {
    return new SourceMap(JSON.parse(Buffer.from(inline[1]!, 'base64').toString('utf8')) as SourceMapPayload);
  } catch {
    return null;
  }
}
