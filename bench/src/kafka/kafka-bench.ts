/**
 * Kafka → keyed window → Kafka on the local mini-cluster against a real
 * Kafka 4.4 broker (`@freshet/kafka-testing`), exactly-once and
 * at-least-once sinks side by side: records/s and records per CPU-second
 * (user + system of this process and its worker threads, the broker's JVM
 * not counted). Writes `bench/results/kafka.md` and prints the table.
 *
 * ```sh
 * pnpm --filter @freshet/bench kafka -- --records 400000 --parallelism 2 --checkpoint-interval 1000
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startKafkaBroker } from '@freshet/kafka-testing';
import { compileProgram, optimize, planInSandbox } from '@freshet/planner';
import { runLocalJob } from '@freshet/runtime';
import { Kafka, logLevel } from 'kafkajs';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const records = arg('records', 400_000);
const parallelism = arg('parallelism', 2);
/** Checkpoint interval of the job (0: none); the exactly-once sink commits a transaction per checkpoint. */
const interval = arg('checkpoint-interval', 1000);
const broker = await startKafkaBroker();
try {
  const kafka = new Kafka({
    clientId: 'bench',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'events', numPartitions: parallelism },
      { topic: 'counts-eo' },
      { topic: 'counts-alo' },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < records; i += 5000) {
    const messages = [];
    for (let j = i; j < Math.min(records, i + 5000); j++) {
      messages.push({
        partition: j % parallelism,
        value: JSON.stringify({ key: `k${j % 100}`, t: start + j }),
      });
    }
    await producer.send({ topic: 'events', messages });
  }
  await producer.disconnect();

  const compiled = await compileProgram(
    { path: join(import.meta.dirname, 'window-program.ts') },
    { typecheck: false },
  );
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const rows: string[] = [];
  for (const [delivery, out] of [
    ['at-least-once', 'counts-alo'],
    ['exactly-once', 'counts-eo'],
  ] as const) {
    const args = [broker.bootstrapServers, 'events', out, delivery, String(interval)];
    const plan = await planInSandbox(compiled.bundlePath, args, { parallelism });
    const jobGraph = optimize(plan.graph, plan.planHash);
    const cpu0 = process.cpuUsage();
    const r = await runLocalJob({
      program: { bundlePath: compiled.bundlePath, args, parallelism },
      jobGraph,
      slots: parallelism,
    });
    const cpu = process.cpuUsage(cpu0);
    if (r.status !== 'FINISHED') throw new Error(`${delivery}: ${r.status} ${JSON.stringify(r.error)}`);
    const seconds = r.durationMs / 1000;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    rows.push(
      `| ${delivery} | ${parallelism} | ${records.toLocaleString('en-US')} | ${seconds.toFixed(2)} | ${cpuSeconds.toFixed(2)} | ${Math.round(records / seconds).toLocaleString('en-US')} | ${Math.round(records / cpuSeconds).toLocaleString('en-US')} |`,
    );
  }
  const table = [
    `${new Date().toISOString()}: Kafka → map → keyBy → 1 s tumbling window reduce → Kafka, local mini-cluster, bounded source (${records.toLocaleString('en-US')} JSON records in ${parallelism} partitions), ${interval > 0 ? `a checkpoint every ${interval} ms (exactly-once commits a Kafka transaction per subtask at each)` : 'no checkpoints (exactly-once commits its one transaction per subtask at the end)'}, both runs in the same process against the same broker. CPU: this process and its worker threads; the broker's JVM not counted.`,
    '',
    '| sink delivery | p | records | seconds | CPU s | records/s | records/CPU-s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  await writeFile(join(import.meta.dirname, '..', '..', 'results', 'kafka.md'), table);
  process.stdout.write(table);
} finally {
  await broker.stop();
}
