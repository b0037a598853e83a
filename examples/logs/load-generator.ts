/**
 * A small load generator for the Kafka log pipeline: deterministic
 * access-log lines (Common Log Format, a few seconds out of order, one
 * malformed line per thousand, a burst of 503s in one minute) produced into
 * a Kafka topic.
 *
 * ```sh
 * node --import tsx examples/logs/load-generator.ts --bootstrap-servers 127.0.0.1:9092 \
 *   --topic access-log --lines 60000 [--partitions 3] [--seed 5] [--rate 2000]
 * ```
 *
 * Tests import {@link generateAccessLog} and {@link expectedResults} to know
 * what the pipeline must produce.
 */
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { parseArgs, required } from '../args.js';

const PATHS = ['/', '/index.html', '/api/orders', '/api/users', '/static/app.js'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** What a generated line stands for (the time truncated to the second, as the log format keeps it). */
export interface Entry {
  time: number;
  path: string;
  status: number;
}

function clf(time: number): string {
  // Written in UTC+02:00 to exercise the zone offset.
  const d = new Date(time + 2 * 3600_000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0200`;
}

/** `lines` access-log lines, ten per second of event time from 2024-05-01 12:00 UTC; minute 4 has a burst of 503s. */
export function generateAccessLog(lines: number, seed = 5): { lines: string[]; entries: Entry[] } {
  let x = seed;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const start = Date.UTC(2024, 4, 1, 12, 0, 0);
  const out: string[] = [];
  const entries: Entry[] = [];
  for (let i = 0; i < lines; i++) {
    const time = start + i * 100 - Math.floor(rnd() * 3000);
    const minute = Math.floor((time - start) / 60_000);
    const r = rnd();
    const status = minute === 4 && r < 0.3 ? 503 : r < 0.8 ? 200 : r < 0.9 ? 404 : r < 0.95 ? 302 : 500;
    const path = PATHS[Math.floor(rnd() * PATHS.length)]!;
    entries.push({ time: Math.floor(time / 1000) * 1000, path, status });
    out.push(
      `10.0.0.${i % 250} - - [${clf(time)}] "GET ${path}?q=${i} HTTP/1.1" ${status} ${100 + (i % 900)} "-" "load"`,
    );
    if (i % 1000 === 999) out.push('this is not an access log line');
  }
  return { lines: out, entries };
}

/** The counts rows and alerts the pipeline must produce for `entries` (windows closed by the end of input). */
export function expectedResults(
  entries: readonly Entry[],
  burst: number,
): {
  counts: { windowStart: number; dimension: string; value: string; count: number }[];
  alerts: { windowStart: number; errors: number }[];
} {
  const counts = new Map<string, number>();
  const errors = new Map<number, number>();
  for (const e of entries) {
    const w = Math.floor(e.time / 60_000) * 60_000;
    for (const [dimension, value] of [
      ['status', String(e.status)],
      ['path', e.path],
    ] as const) {
      const k = `${w}|${dimension}|${value}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    if (e.status >= 500) errors.set(w, (errors.get(w) ?? 0) + 1);
  }
  return {
    counts: [...counts].map(([k, count]) => {
      const [w, dimension, value] = k.split('|') as [string, string, string];
      return { windowStart: Number(w), dimension, value, count };
    }),
    alerts: [...errors].filter(([, n]) => n >= burst).map(([windowStart, n]) => ({ windowStart, errors: n })),
  };
}

/** Produces `lines` into `topic` in batches, round robin over `partitions`, at most `ratePerSecond` lines a second if given. */
export async function produceAccessLog(
  bootstrapServers: string,
  topic: string,
  lines: readonly string[],
  opts: { partitions?: number; ratePerSecond?: number } = {},
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'load-generator',
    brokers: [bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const partitions = opts.partitions ?? 1;
    const batch = 500;
    const started = Date.now();
    for (let i = 0; i < lines.length; i += batch) {
      const messages = lines
        .slice(i, i + batch)
        .map((value, j) => ({ value, partition: (i + j) % partitions }));
      await producer.send({ topic, messages });
      if (opts.ratePerSecond !== undefined) {
        const due = started + ((i + batch) * 1000) / opts.ratePerSecond;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      }
    }
  } finally {
    await producer.disconnect();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseArgs(process.argv.slice(2));
  const servers = required(args, 'bootstrap-servers', 'the Kafka brokers, host:port');
  const { lines } = generateAccessLog(Number(args.get('lines') ?? 60_000), Number(args.get('seed') ?? 5));
  const rate = args.get('rate');
  await produceAccessLog(servers, args.get('topic') ?? 'access-log', lines, {
    partitions: Number(args.get('partitions') ?? 1),
    ...(rate === undefined ? {} : { ratePerSecond: Number(rate) }),
  });
  console.log(`produced ${lines.length} lines`);
}
