/**
 * Data-plane benchmark: a q0-like pipeline (project, rebalance, discard) and
 * a keyed windowed pipeline (keyBy auction, 1 s tumbling window) at
 * parallelism 2, on the local mini-cluster (2 slots, one process) and split
 * across two TaskManager processes connected over TCP (one slot each).
 * Times are from RUNNING to the end of the job (start-up excluded).
 *
 *   node --import tsx --conditions=@freshet/source bench/src/cluster-bench.ts [events] [repeat]
 *
 * Prints medians of `repeat` runs (default 3): records/s, bytes/s across
 * the exchange, CPU time per record (all threads of all processes; the local
 * figure includes worker start-up), and the throughput ratio.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClusterJob, DataPlane, runLocalJob, type SubtaskMetrics } from '@freshet/runtime';
import { benchJob } from './cluster-bench-graphs.js';

interface SideResult {
  status: string;
  runningMs: number;
  /** From the last subtask's end to the links closed. */
  shutdownMs: number;
  /** CPU time of the whole process (all threads) while running. */
  cpuSec: number;
  bytesOut: number;
  recordsIn: number;
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    side: { type: 'string' },
    graph: { type: 'string' },
    events: { type: 'string' },
    ports: { type: 'string' },
  },
  allowPositionals: true,
  strict: false,
});

async function runSide(side: string, graph: string, events: number, ports: number[]): Promise<void> {
  const self = side === 'a' ? 'tm-a' : 'tm-b';
  const plane = await DataPlane.listen({ port: side === 'a' ? ports[0]! : ports[1]! });
  const job = await benchJob(graph, events, 2);
  const latest = new Map<string, SubtaskMetrics>();
  let running = 0;
  let lastState = 0;
  let cpu0 = process.cpuUsage();
  const cj = new ClusterJob({
    jobId: `bench-${graph}`,
    attempt: 0,
    self,
    program: job.program,
    jobGraph: job.jobGraph,
    loader: job.loader,
    slots: [
      { taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: ports[0]! },
      { taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: ports[1]! },
    ],
    dataPlane: plane,
    // Both sides of the pair get the attempt's secret from the parent, as TaskManagers get it from the deploy.
    dataPlaneSecret: process.env.FRESHET_BENCH_DATA_PLANE_SECRET ?? '',
    ...(process.env.FRESHET_BENCH_CREDITS
      ? { initialCredits: Number(process.env.FRESHET_BENCH_CREDITS) }
      : {}),
    listener: {
      onStates: (u) => {
        lastState = performance.now();
        if (running === 0 && u.some((x) => x.state === 'RUNNING')) {
          running = lastState;
          cpu0 = process.cpuUsage();
        }
      },
      onMetrics: (ms) => {
        for (const m of ms) latest.set(`${m.vertexId}#${m.subtask}`, m);
      },
      onCollected: () => undefined,
    },
  });
  cj.start();
  const status = await cj.done;
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const all = [...latest.values()];
  const result: SideResult = {
    status,
    runningMs: lastState - running,
    shutdownMs: end - lastState,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    bytesOut: all.reduce((s, m) => s + m.bytesOut, 0),
    recordsIn: all
      .filter((m) => m.vertexName.includes('generator') || m.vertexName.includes('Generator'))
      .reduce((s, m) => s + m.recordsIn, 0),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await plane.close();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function child(
  side: string,
  graph: string,
  events: number,
  ports: number[],
  secret: string,
): Promise<SideResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--side',
        side,
        '--graph',
        graph,
        '--events',
        String(events),
        '--ports',
        ports.join(','),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, FRESHET_BENCH_DATA_PLANE_SECRET: secret },
      },
    );
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    p.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`side ${side} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as SideResult);
    });
  });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function runParent(events: number, repeat: number): Promise<void> {
  for (const graph of ['q0', 'keyedWindow']) {
    const job = await benchJob(graph, events, 2);
    const rows: {
      local: number;
      cluster: number;
      localBytes: number;
      clusterBytes: number;
      localCpu: number;
      clusterCpu: number;
    }[] = [];
    for (let r = 0; r < repeat; r++) {
      const cpu0 = process.cpuUsage();
      const local = await runLocalJob({ ...job, slots: 2, timeoutMs: 600_000 });
      const localCpu = process.cpuUsage(cpu0);
      if (local.status !== 'FINISHED')
        throw new Error(`local ${graph} ${local.status}: ${local.error?.message ?? ''}`);
      const localSec = local.metrics.elapsedMs / 1000;
      const ports = [await freePort(), await freePort()];
      const secret = randomBytes(32).toString('base64url');
      const [a, b] = await Promise.all([
        child('a', graph, events, ports, secret),
        child('b', graph, events, ports, secret),
      ]);
      if (a.status !== 'FINISHED' || b.status !== 'FINISHED')
        throw new Error(`cluster ${graph} ${a.status}/${b.status}`);
      const clusterSec = Math.max(a.runningMs, b.runningMs) / 1000;
      rows.push({
        local: events / localSec,
        cluster: events / clusterSec,
        localBytes: local.metrics.subtasks.reduce((s, m) => s + m.bytesOut, 0) / localSec,
        clusterBytes: (a.bytesOut + b.bytesOut) / clusterSec,
        localCpu: (localCpu.user + localCpu.system) / 1e6,
        clusterCpu: a.cpuSec + b.cpuSec,
      });
    }
    const m = (k: keyof (typeof rows)[number]): number => median(rows.map((r) => r[k]));
    console.log(
      `${graph} (${fmt(events)} events, median of ${repeat}): local mini-cluster ${fmt(m('local'))} rec/s, ${(m('localBytes') / 1e6).toFixed(1)} MB/s between slots, ${((m('localCpu') * 1e6) / events).toFixed(2)} CPU-µs/record | ` +
        `2 TaskManagers over TCP ${fmt(m('cluster'))} rec/s, ${(m('clusterBytes') / 1e6).toFixed(1)} MB/s across the exchange, ${((m('clusterCpu') * 1e6) / events).toFixed(2)} CPU-µs/record | ` +
        `throughput ratio ${((m('cluster') / m('local')) * 100).toFixed(0)}% (runs: ${rows.map((r) => `${((r.cluster / r.local) * 100).toFixed(0)}%`).join(', ')})`,
    );
  }
}

if (typeof values.side === 'string') {
  await runSide(
    values.side,
    String(values.graph),
    Number(values.events),
    String(values.ports).split(',').map(Number),
  );
} else {
  await runParent(Number(process.argv[2] ?? 1_000_000), Number(process.argv[3] ?? 3));
}
