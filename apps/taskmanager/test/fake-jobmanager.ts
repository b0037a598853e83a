// A stand-in JobManager serving the control-plane contract (register, heartbeat,
// commands over SSE, reports, artifacts), for TaskManager tests that must not
// depend on the JobManager's scheduler.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type {
  RegisterTaskManagerInput,
  ReportOutputInput,
  SubtaskMetricsSample,
  SubtaskStateUpdate,
  TaskManagerCommand,
  TaskManagerHealth,
} from '@freshet/protocol';
import { createControlPlaneRouter } from '@freshet/protocol/control-plane';

interface Tm {
  token: string;
  registration: RegisterTaskManagerInput;
  queue: TaskManagerCommand[];
  wake: (() => void) | undefined;
  subscribed: number;
  deregistered: boolean;
  health: TaskManagerHealth[];
}

/** A fake JobManager on a free port of 127.0.0.1. */
export class FakeJobManager {
  readonly tms = new Map<string, Tm>();
  readonly states: SubtaskStateUpdate[] = [];
  readonly metrics: SubtaskMetricsSample[] = [];
  readonly collected = new Map<string, unknown[]>();
  readonly bundles = new Map<string, Uint8Array>();
  readonly artifactRequests: { sha: string; authorization: string | undefined }[] = [];
  readonly lostPeers: { reportedBy: string; peerId: string; jobId: string }[] = [];
  readonly output: ReportOutputInput['lines'] = [];
  private readonly listeners = new Set<() => void>();
  private server!: Server;
  url = '';

  /** Starts serving on `port` (0: a free one). */
  async start(port = 0): Promise<this> {
    const router = createControlPlaneRouter<object>({
      register: (_ctx, input) => {
        const id = input.resourceId ?? `tm-${randomBytes(3).toString('hex')}`;
        const old = this.tms.get(id);
        this.tms.set(id, {
          token: randomBytes(16).toString('hex'),
          registration: input,
          queue: old?.queue ?? [],
          wake: undefined,
          subscribed: old?.subscribed ?? 0,
          deregistered: false,
          health: [],
        });
        this.changed();
        return {
          taskManagerId: id,
          token: this.tms.get(id)!.token,
          heartbeatIntervalMs: 200,
          heartbeatTimeoutMs: 60_000,
        };
      },
      heartbeat: (_ctx, input) => {
        const tm = this.tms.get(input.taskManagerId);
        if (!tm || tm.token !== input.token) return { status: 'reregister', reason: 'unknown session' };
        tm.health.push(input.health);
        this.changed();
        return { status: 'ok' };
      },
      deregister: (_ctx, input) => {
        const tm = this.tms.get(input.taskManagerId);
        if (tm) tm.deregistered = true;
        this.changed();
        return { status: 'DEREGISTERED' };
      },
      reportOutput: (_ctx, input) => {
        this.output.push(...input.lines);
        this.changed();
        return { accepted: input.lines.length };
      },
      commands: (_ctx, session, signal) => this.commandStream(session.taskManagerId, session.token, signal),
      reportStates: (_ctx, input) => {
        this.states.push(...input.updates);
        this.changed();
        return { accepted: input.updates.length, ignored: 0 };
      },
      reportMetrics: (_ctx, input) => {
        this.metrics.push(...input.samples);
        this.changed();
        return { accepted: input.samples.length };
      },
      reportCollected: (_ctx, input) => {
        const list = this.collected.get(input.collectId) ?? [];
        list.push(...input.values);
        this.collected.set(input.collectId, list);
        this.changed();
        return { accepted: input.values.length, truncated: false };
      },
      reportLostPeer: (_ctx, input) => {
        this.lostPeers.push({ reportedBy: input.taskManagerId, peerId: input.peerId, jobId: input.jobId });
        this.changed();
        return { declaredLost: false };
      },
      declineCheckpoint: () => ({ accepted: false }),
      // No alignment here: every group may go on.
      reportWatermarks: (_ctx, input) => ({
        announcements: [...new Set(input.reports.map((r) => r.group))].map((group) => ({
          group,
          maxAllowedWatermark: 'max' as const,
        })),
      }),
      // No dashboard watches here: every tap is unwanted.
      reportTapSamples: () => ({ accepted: 0, wanted: false }),
      reportProfile: () => ({ accepted: false }),
    });
    const trpc = createHTTPHandler({ router, basePath: '/trpc/', createContext: () => ({}) });
    this.server = createServer((req, res) => {
      const m = /^\/artifacts\/([0-9a-f]{64})\.mjs$/.exec(req.url ?? '');
      if (m) {
        const sha = m[1]!;
        this.artifactRequests.push({ sha, authorization: req.headers.authorization });
        const auth = /^Bearer ([^.]+)\.(.+)$/.exec(req.headers.authorization ?? '');
        const tm = auth ? this.tms.get(auth[1]!) : undefined;
        if (!tm || tm.token !== auth![2]) {
          res.writeHead(401).end();
          return;
        }
        const bytes = this.bundles.get(sha);
        if (!bytes) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(bytes);
        return;
      }
      if (req.url?.startsWith('/trpc/')) {
        trpc(req, res);
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Queues a command for a TaskManager. */
  send(taskManagerId: string, command: TaskManagerCommand): void {
    const tm = this.tms.get(taskManagerId);
    if (!tm) throw new Error(`unknown TaskManager ${taskManagerId}`);
    tm.queue.push(command);
    tm.wake?.();
  }

  /** Waits until `cond` holds (re-checked on every report). */
  async until(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; states: ${JSON.stringify(this.states.slice(-20))}`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.listeners.delete(done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 200));
        this.listeners.add(done);
      });
    }
  }

  async close(): Promise<void> {
    for (const tm of this.tms.values()) tm.wake?.();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  private async *commandStream(
    id: string,
    token: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<TaskManagerCommand> {
    const tm = this.tms.get(id);
    if (!tm || tm.token !== token) {
      // As the JobManager does for a session it does not know (it restarted).
      yield { type: 'reregister', reason: `unknown TaskManager ${id}` };
      return;
    }
    tm.subscribed++;
    this.changed();
    while (!signal?.aborted) {
      const next = tm.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        tm.wake = resolve;
        signal?.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
      });
      tm.wake = undefined;
    }
  }
}
