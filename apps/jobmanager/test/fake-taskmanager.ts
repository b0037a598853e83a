// A minimal TaskManager peer for tests: it speaks the real control-plane
// protocol (register, heartbeats, the commands SSE stream, state reports)
// over HTTP, but runs nothing. Tests decide what it reports.
import { TaskManagerCommandSchema, type ExecutionState, type TaskManagerCommand } from '@freshet/protocol';
import type { JobManagerClient } from '../src/client.js';

/** A fake TaskManager registered with a real JobManager. */
export class FakeTaskManager {
  readonly commands: TaskManagerCommand[] = [];
  taskManagerId = '';
  token = '';
  #heartbeat: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #waiters = new Set<() => void>();

  private constructor(
    readonly client: JobManagerClient,
    readonly url: string,
    readonly slots: number,
    readonly dataPort: number,
  ) {}

  /** Registers, starts heartbeating and subscribes to commands. */
  static async start(
    client: JobManagerClient,
    url: string,
    slots: number,
    dataPort: number,
    joinSecret: string,
  ): Promise<FakeTaskManager> {
    const tm = new FakeTaskManager(client, url, slots, dataPort);
    const reg = await client.taskManagers.register.mutate({ host: '127.0.0.1', dataPort, slots, joinSecret });
    tm.taskManagerId = reg.taskManagerId;
    tm.token = reg.token;
    tm.#heartbeat = setInterval(() => {
      void client.taskManagers.heartbeat
        .mutate({
          taskManagerId: tm.taskManagerId,
          token: tm.token,
          health: { cpu: 0.1, heapUsed: 1e7, rss: 5e7, eventLoopDelayMs: 1, slotsUsed: 0, uptimeSec: 1 },
        })
        .catch(() => undefined);
    }, reg.heartbeatIntervalMs);
    await tm.#subscribe();
    return tm;
  }

  /** Opens the SSE stream and resolves once it is connected. */
  async #subscribe(): Promise<void> {
    const input = encodeURIComponent(
      JSON.stringify({ taskManagerId: this.taskManagerId, token: this.token }),
    );
    const res = await fetch(`${this.url}/trpc/taskManagers.commands?input=${input}`, {
      signal: this.#abort.signal,
      headers: { accept: 'text/event-stream' },
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => (connected = resolve));
    void (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (event.includes('event: connected')) connected();
            const data = event.split('\n').find((l) => l.startsWith('data: '));
            if (data === undefined || /event: (connected|ping|return|serialized-error)/.test(event)) continue;
            this.commands.push(TaskManagerCommandSchema.parse(JSON.parse(data.slice(6))));
            for (const wake of [...this.#waiters]) wake();
          }
        }
      } catch {
        // aborted
      }
    })();
    await ready;
  }

  /** Waits for a command matching `match`. */
  async waitForCommand(
    match: (c: TaskManagerCommand) => boolean,
    timeoutMs = 10_000,
  ): Promise<TaskManagerCommand> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.commands.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`No matching command within ${timeoutMs} ms; got ${JSON.stringify(this.commands)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.#waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** Reports every subtask of a deployment that runs here as `state`. */
  async reportAll(
    command: TaskManagerCommand,
    state: ExecutionState,
    error?: { name: string; message: string; stack?: string },
  ) {
    if (command.type !== 'deploy') throw new Error('not a deploy command');
    const d = command.deployment;
    const updates = [];
    for (const v of d.jobGraph.vertices) {
      for (let s = 0; s < v.parallelism; s++) {
        if (d.slots[s % d.slots.length]!.taskManagerId !== this.taskManagerId) continue;
        updates.push({
          jobId: d.jobId,
          attempt: d.attempt,
          vertexId: v.id,
          subtaskIndex: s,
          state,
          at: Date.now(),
          ...(error ? { error } : {}),
        });
      }
    }
    if (updates.length === 0) return { accepted: 0, ignored: 0 };
    return this.client.executions.reportStates.mutate({
      taskManagerId: this.taskManagerId,
      token: this.token,
      updates,
    });
  }

  /** Stops heartbeating (the JobManager will declare it LOST) and closes the stream. */
  silence(): void {
    clearInterval(this.#heartbeat);
    this.#abort.abort();
  }
}
