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
import { PartitionFetcher, type KafkaRecord } from '@freshet/connectors/internal/kafka';
import { Kafka, logLevel } from 'kafkajs';

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

/**
 * Everything committed in `topic` (read_committed, every partition from its
 * earliest offset, with the Kafka source's own reader: kafkajs's consumer
 * lets some records of aborted transactions through, and its consumer group
 * may deliver records again after a rebalance), read until nothing new came
 * for `quietMs` — or until `count` records arrived.
 */
export async function readTopic(
  bootstrapServers: string,
  topic: string,
  opts: { count?: number; quietMs?: number; timeoutMs?: number } = {},
): Promise<KafkaRecord[]> {
  const fetcher = new PartitionFetcher({ bootstrapServers: [bootstrapServers], clientId: 'connector-tests' });
  await fetcher.connect([topic]);
  const got: KafkaRecord[] = [];
  try {
    const partitions = fetcher.partitionsOf(topic);
    const next = await fetcher.offsets(topic, partitions, 'earliest');
    const quiet = opts.quietMs ?? 1500;
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    let last = Date.now();
    while (Date.now() < deadline) {
      const wanted = partitions.map((partition) => ({ topic, partition, offset: next.get(partition) ?? 0 }));
      for (const r of await fetcher.fetch(wanted, 100, 1 << 20)) {
        if (r.errorCode !== 0) continue;
        if (r.records.length > 0) last = Date.now();
        got.push(...r.records);
        next.set(r.partition, r.nextOffset);
      }
      if (opts.count !== undefined && got.length >= opts.count && Date.now() - last > 300) break;
      if (opts.count === undefined && got.length > 0 && Date.now() - last > quiet) break;
      if (opts.count === undefined && got.length === 0 && Date.now() - last > quiet * 2) break;
    }
  } finally {
    await fetcher.disconnect();
  }
  return got;
}

/** The values of messages as strings. */
export const values = (ms: readonly { value: Buffer | null }[]): string[] =>
  ms.map((m) => m.value?.toString() ?? '');
