/**
 * Drivers for the connector tests: a source or sink subtask built by the
 * real API and run by the runtime's framework operators under the operator
 * harness (with snapshots through the real codec), and a read_committed
 * Kafka reader for checking what a topic holds.
 */
import type { StreamExecutionEnvironment } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { StreamNode, JobConfig } from '@freshet/graph';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot, type OperatorSnapshot } from '@freshet/runtime';
import {
  ConnectorSinkOperator,
  ConnectorSourceOperator,
  ManualProcessingTimeService,
  OperatorHarness,
} from '@freshet/runtime/testing';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';

/** The first node of `kind` that `build` creates, planned by the real API, and the job's config. */
export async function planned(
  build: (env: StreamExecutionEnvironment) => void,
  kind: 'source' | 'sink',
): Promise<{ node: StreamNode; job: JobConfig }> {
  const graph = await buildStreamGraph((env) => {
    build(env);
    if (kind === 'source') env.fromElements(0).discard();
  });
  return {
    node: graph.nodes.find(
      (n) => n.kind === kind && (kind === 'sink' || n.spec.source?.type === 'connector'),
    )!,
    job: graph.config,
  };
}

/** A source subtask under the harness. */
export interface SourceSubtask {
  h: OperatorHarness;
  src: ConnectorSourceOperator;
}

/** Opens subtask `subtask` of `parallelism` of the source `build` creates (from `restored`, if given). */
export async function openSource(
  build: (env: StreamExecutionEnvironment) => void,
  subtask: number,
  parallelism: number,
  opts: {
    restored?: readonly OperatorSnapshot[];
    clock?: ManualProcessingTimeService;
    attempt?: number;
  } = {},
): Promise<SourceSubtask> {
  const { node, job } = await planned(build, 'source');
  const src = new ConnectorSourceOperator(node);
  const h = new OperatorHarness(
    [node],
    {
      subtaskIndex: subtask,
      parallelism,
      job,
      attempt: opts.attempt ?? 0,
      ...(opts.clock ? { clock: opts.clock } : {}),
    },
    [src],
  );
  h.open(opts.restored);
  return { h, src };
}

/** Polls until `max` records came or the source ended, waiting out asynchronous fetches; throws a reported failure. */
export async function emitUpTo(s: SourceSubtask, max: number, timeoutMs = 20_000): Promise<'MORE' | 'END'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = s.h.output.records.length;
    if (got >= max) return 'MORE';
    if (s.h.failures.length > 0) throw s.h.failures[0] as Error;
    const r = s.src.emitNext(Math.min(50, max - got));
    if (r === 'END') return 'END';
    if (r === 'IDLE') await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(
    `the source emitted ${s.h.output.records.length} records of ${max} and did not end within ${timeoutMs} ms`,
  );
}

/** A snapshot through the codec, as a checkpoint stores it. */
export function roundTrip(s: OperatorSnapshot): OperatorSnapshot {
  return decodeSubtaskSnapshot(encodeSubtaskSnapshot(new Map([[1, s]]))).get(1)!;
}

/** A sink subtask under the harness. */
export async function openSink(
  build: (env: StreamExecutionEnvironment) => void,
  subtask: number,
  parallelism: number,
  opts: { restored?: readonly OperatorSnapshot[]; attempt?: number; job?: Partial<JobConfig> } = {},
): Promise<OperatorHarness> {
  const { node, job } = await planned(build, 'sink');
  const h = new OperatorHarness(
    [node],
    { subtaskIndex: subtask, parallelism, job: { ...job, ...opts.job }, attempt: opts.attempt ?? 0 },
    [new ConnectorSinkOperator(node)],
  );
  h.open(opts.restored);
  return h.settle();
}

/** Checkpoint `id` completed: the sink commits; waits for it. */
export async function complete(h: OperatorHarness, id: number): Promise<void> {
  h.head.notifyCheckpointComplete!(id);
  await h.settle();
}

/** A kafkajs client that logs nothing. */
export function kafkaClient(bootstrapServers: string): Kafka {
  return new Kafka({
    clientId: 'connector-tests',
    brokers: [bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 8 },
  });
}

/** Creates topics (waiting for their leaders). */
export async function createTopics(
  kafka: Kafka,
  topics: { topic: string; numPartitions?: number }[],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

let groups = 0;

/**
 * Everything committed in `topic` (read_committed, from the beginning, in a
 * fresh group), read until nothing new came for `quietMs` — or until `count`
 * values arrived.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: { count?: number; quietMs?: number; timeoutMs?: number } = {},
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({
    groupId: `check-${process.pid}-${groups++}`,
    readUncommitted: false,
    retry: { retries: 3 },
  });
  const got: KafkaMessage[] = [];
  // A consumer group that rebalances while it reads delivers again what it read since its last
  // offset commit: a record is one position in a partition, counted once however often it comes.
  const seen = new Set<string>();
  let redelivered = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let last = Date.now();
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const position = `${partition}:${message.offset}`;
        if (seen.has(position)) redelivered++;
        else {
          seen.add(position);
          got.push(message);
        }
        last = Date.now();
        return Promise.resolve();
      },
    });
    const quiet = opts.quietMs ?? 1500;
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (opts.count !== undefined && got.length >= opts.count && Date.now() - last > 300) break;
      if (opts.count === undefined && Date.now() - last > quiet && got.length > 0) break;
      if (opts.count === undefined && got.length === 0 && Date.now() - last > quiet * 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await consumer.disconnect();
  }
  if (redelivered > 0)
    console.log(`readTopic ${topic}: ${redelivered} records delivered again (a rebalance), counted once`);
  return got;
}

/** The values of messages as strings. */
export const values = (ms: readonly KafkaMessage[]): string[] => ms.map((m) => m.value?.toString() ?? '');
