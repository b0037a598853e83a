/**
 * KafkaSource and KafkaSink against a real Kafka 4.4 broker (one KRaft node
 * on loopback, `@freshet/kafka-testing`), run by the runtime's framework
 * operators: bounded and unbounded reads, a restore in the middle of a
 * partition, a rescale, read_committed, new partitions, bad input, and the
 * exactly-once sink's commit, recovery and fencing.
 */
import { WatermarkStrategy, type StreamExecutionEnvironment } from '@freshet/api';
import {
  BadRecordError,
  ConnectorConfigError,
  ConnectorUnavailableError,
  KafkaDeserializers,
  KafkaSerializers,
  KafkaSink,
  KafkaSource,
  OffsetsInitializer,
  kafkaSplitOwner,
} from '@freshet/connectors';
import { startKafkaBroker, type KafkaBroker } from '@freshet/kafka-testing';
import type { OperatorSnapshot } from '@freshet/runtime';
import { ManualProcessingTimeService } from '@freshet/runtime/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  complete,
  createTopics,
  emitUpTo,
  kafkaClient,
  openSink,
  openSource,
  readTopic,
  roundTrip,
  values,
} from './support.js';

let broker: KafkaBroker | undefined;
let kafka: Kafka;
let servers: string;

beforeAll(async () => {
  broker = await startKafkaBroker();
  servers = broker.bootstrapServers;
  kafka = kafkaClient(servers);
}, 120_000);
afterAll(() => broker?.stop());

interface Ev {
  p: number;
  i: number;
}

async function produce(topic: string, records: { partition: number; value: string }[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, messages: records });
  } finally {
    await producer.disconnect();
  }
}

const jsonSource =
  (
    topic: string,
    bounded: boolean,
    extra: (b: ReturnType<typeof KafkaSource.builder<Ev>>) => void = () => undefined,
  ) =>
  (env: StreamExecutionEnvironment): void => {
    const b = KafkaSource.builder<Ev>()
      .setBootstrapServers(servers)
      .setTopics(topic)
      .setStartingOffsets(OffsetsInitializer.earliest())
      .setValueOnlyDeserializer(KafkaDeserializers.json<Ev>());
    if (bounded) b.setBounded();
    extra(b);
    env.fromSource(b.build(), WatermarkStrategy.noWatermarks(), 'kafka');
  };

describe('KafkaSource', () => {
  it('reads a bounded topic, resumes in the middle of partitions and hands partitions to their new owners on a rescale', async () => {
    await createTopics(kafka, [{ topic: 'events', numPartitions: 3 }]);
    const sent = Array.from({ length: 300 }, (_, i) => ({ p: i % 3, i }));
    await produce(
      'events',
      sent.map((e) => ({ partition: e.p, value: JSON.stringify(e) })),
    );
    const build = jsonSource('events', true);

    // Parallelism 2: partitions 0..2 spread by Flink's rule; read part, checkpoint.
    const before: Ev[] = [];
    const states: OperatorSnapshot[] = [];
    for (let s = 0; s < 2; s++) {
      const sub = await openSource(build, s, 2);
      await emitUpTo(sub, 40 + 30 * s);
      before.push(...sub.h.values<Ev>());
      states.push(roundTrip(sub.src.snapshotState(1)));
      sub.h.close();
    }
    expect(before).toHaveLength(110);
    // Parallelism 3, every former state given to every new subtask: each keeps its partitions.
    const after: Ev[] = [];
    for (let s = 0; s < 3; s++) {
      const sub = await openSource(build, s, 3, { restored: states });
      expect(await emitUpTo(sub, Infinity)).toBe('END');
      const mine = sub.h.values<Ev>();
      for (const e of mine) expect(kafkaSplitOwner('events', e.p, 3)).toBe(s);
      after.push(...mine);
      sub.h.close();
    }
    const all = [...before, ...after];
    expect(all.map((e) => e.i).sort((a, b) => a - b)).toEqual(sent.map((e) => e.i));
    // Within a partition, in offset order.
    for (let p = 0; p < 3; p++) {
      const seq = all.filter((e) => e.p === p).map((e) => e.i);
      const inPartition = [...before.filter((e) => e.p === p), ...after.filter((e) => e.p === p)].map(
        (e) => e.i,
      );
      expect(inPartition).toEqual([...seq].sort((a, b) => a - b));
    }
  });

  it('emits committed transactions only, and records carry the Kafka timestamp', async () => {
    await createTopics(kafka, [{ topic: 'tx-in' }]);
    const producer = kafka.producer({
      transactionalId: 'tests-tx-in',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    for (const [value, end] of [
      ['c1', 'commit'],
      ['a1', 'abort'],
      ['c2', 'commit'],
    ] as const) {
      const tx = await producer.transaction();
      await tx.send({
        topic: 'tx-in',
        messages: [
          {
            value: JSON.stringify({ p: 0, i: value === 'c1' ? 1 : value === 'c2' ? 2 : -1 }),
            timestamp: '1700000000000',
          },
        ],
      });
      await (end === 'commit' ? tx.commit() : tx.abort());
    }
    await producer.disconnect();
    const sub = await openSource(jsonSource('tx-in', true), 0, 1);
    expect(await emitUpTo(sub, Infinity)).toBe('END');
    expect(sub.h.values<Ev>().map((e) => e.i)).toEqual([1, 2]);
    expect(sub.h.records().map((r) => r.timestamp)).toEqual([1_700_000_000_000, 1_700_000_000_000]);
    sub.h.close();
  });

  it('unbounded: reads records as they come, finds partitions added while running, reports the lag', async () => {
    await createTopics(kafka, [{ topic: 'growing', numPartitions: 1 }]);
    await produce('growing', [{ partition: 0, value: JSON.stringify({ p: 0, i: 0 }) }]);
    const clock = new ManualProcessingTimeService(0);
    const sub = await openSource(
      jsonSource('growing', false, (b) => b.setPartitionDiscoveryInterval(1000)),
      0,
      1,
      { clock },
    );
    expect(await emitUpTo(sub, 1)).toBe('MORE');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 2 }] });
    await admin.disconnect();
    await produce('growing', [
      { partition: 1, value: JSON.stringify({ p: 1, i: 1 }) },
      { partition: 0, value: JSON.stringify({ p: 0, i: 2 }) },
    ]);
    clock.advanceTo(1000); // the next discovery finds partition 1 (and starts it at the earliest offset)
    expect(await emitUpTo(sub, 3)).toBe('MORE');
    expect(
      sub.h
        .values<Ev>()
        .map((e) => e.i)
        .sort(),
    ).toEqual([0, 1, 2]);
    expect(sub.src.connectorMetrics()).toMatchObject({
      'lag.growing-0': 0,
      'lag.growing-1': 0,
      recordsRead: 3,
      // The three JSON values, without keys.
      bytesRead: 3 * JSON.stringify({ p: 0, i: 0 }).length,
    });
    sub.h.close();
  });

  it('names the partition and offset of a record it cannot deserialize, or skips and counts it', async () => {
    await createTopics(kafka, [{ topic: 'malformed', numPartitions: 1 }]);
    await produce('malformed', [
      { partition: 0, value: JSON.stringify({ p: 0, i: 0 }) },
      { partition: 0, value: '{"p": 0, "i": 1' },
      { partition: 0, value: JSON.stringify({ p: 0, i: 2 }) },
    ]);
    const failing = await openSource(jsonSource('malformed', true), 0, 1);
    const error = await emitUpTo(failing, Infinity).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRecordError);
    expect((error as Error).message).toMatch(
      /the record at offset 1 of malformed-0 cannot be deserialized .*setBadRecordPolicy\('skip'\)/,
    );
    expect(failing.h.values<Ev>().map((e) => e.i)).toEqual([0]);
    failing.h.close();

    const skipping = await openSource(
      jsonSource('malformed', true, (b) => b.setBadRecordPolicy('skip')),
      0,
      1,
    );
    expect(await emitUpTo(skipping, Infinity)).toBe('END');
    expect(skipping.h.values<Ev>().map((e) => e.i)).toEqual([0, 2]);
    expect(skipping.src.connectorMetrics()).toMatchObject({ badRecords: 1, recordsRead: 2 });
    skipping.h.close();
  });

  it('fails with a clear error for a missing topic and for an unreachable broker', async () => {
    const missing = await openSource(jsonSource('no-such-topic', true), 0, 1);
    const e1 = await emitUpTo(missing, Infinity).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ConnectorConfigError);
    expect((e1 as Error).message).toContain(`topic 'no-such-topic' does not exist on ${servers}`);
    missing.h.close();

    const unreachable = await openSource(
      (env) => {
        env.fromSource(
          KafkaSource.builder<string>()
            .setBootstrapServers('127.0.0.1:1')
            .setTopics('x')
            .setValueOnlyDeserializer(KafkaDeserializers.string())
            .build(),
          WatermarkStrategy.noWatermarks(),
          'k',
        );
      },
      0,
      1,
    );
    const e2 = await emitUpTo(unreachable, Infinity, 60_000).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ConnectorUnavailableError);
    expect((e2 as Error).message).toContain('cannot reach the Kafka brokers 127.0.0.1:1');
    unreachable.h.close();
  });
});

describe('KafkaSink', () => {
  const sink =
    (topic: string, guarantee: 'exactly-once' | 'at-least-once', prefix = `tests-${topic}`) =>
    (env: StreamExecutionEnvironment): void => {
      env
        .fromElements('x')
        .sinkTo(
          KafkaSink.builder<string>()
            .setBootstrapServers(servers)
            .setTopic(topic)
            .setRecordSerializer(KafkaSerializers.string())
            .setDeliveryGuarantee(guarantee)
            .setTransactionalIdPrefix(prefix)
            .build(),
        );
    };

  it('exactly-once: a checkpoint commits its records; a restore commits what it prepared once; an older attempt is fenced', async () => {
    await createTopics(kafka, [{ topic: 'eo-out' }]);
    const build = sink('eo-out', 'exactly-once');
    const a0 = await openSink(build, 0, 1, { attempt: 0 });
    for (const v of ['a', 'b', 'c']) a0.processElement(v, 1);
    a0.snapshot(1);
    await complete(a0, 1);
    expect(a0.failures).toEqual([]);
    expect(a0.head.connectorMetrics!()).toMatchObject({
      committedCheckpoints: 1,
      recordsCommitted: 3,
      recordsWritten: 3,
      bytesWritten: 3,
    });
    expect(values(await readTopic(servers, 'eo-out', { count: 3 })).sort()).toEqual(['a', 'b', 'c']);
    a0.processElement('d', 2).processElement('e', 2);
    const state2 = roundTrip(a0.snapshot(2));
    // Checkpoint 2 completes, but attempt 0 fails before it commits. Nothing of it is visible.
    expect(values(await readTopic(servers, 'eo-out', { quietMs: 800 }))).toHaveLength(3);

    const a1 = await openSink(build, 0, 1, { restored: [state2], attempt: 1 });
    expect(a1.failures).toEqual([]);
    expect(values(await readTopic(servers, 'eo-out', { count: 5 })).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);

    // Attempt 0 lingers (a zombie) and tries to commit more: it was fenced by attempt 1's producer.
    a0.processElement('zombie', 3);
    a0.snapshot(3);
    await complete(a0, 3);
    expect(a0.failures).toHaveLength(1);
    expect((a0.failures[0] as Error).message).toMatch(/fenced|epoch|transactional/i);

    // Another failure right after the restore: restoring checkpoint 2 again commits nothing twice.
    a1.close();
    const a2 = await openSink(build, 0, 1, { restored: [state2], attempt: 2 });
    expect(a2.failures).toEqual([]);
    expect(a2.head.connectorMetrics!()).toMatchObject({ commitsAlreadyDone: 1 });
    expect(values(await readTopic(servers, 'eo-out', { quietMs: 800 })).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    a2.close();
    a0.close();
  });

  it('exactly-once: a checkpoint of many records (several sends in one transaction) commits each once', async () => {
    await createTopics(kafka, [{ topic: 'eo-many', numPartitions: 3 }]);
    const h = await openSink(sink('eo-many', 'exactly-once'), 0, 1);
    for (let i = 0; i < 3500; i++) h.processElement(`m${i}`, i);
    h.snapshot(1);
    await complete(h, 1);
    expect(h.failures).toEqual([]);
    const got = values(await readTopic(servers, 'eo-many', { count: 3500 }));
    expect(got).toHaveLength(3500);
    expect(new Set(got).size).toBe(3500);
    h.close();
  });

  it('at-least-once: sends as records come and waits for every acknowledgement before finishing', async () => {
    await createTopics(kafka, [{ topic: 'alo-out' }]);
    const h = await openSink(sink('alo-out', 'at-least-once'), 0, 1);
    for (let i = 0; i < 1200; i++) h.processElement(`r${i}`, i);
    h.endInput();
    await h.settle();
    expect(h.failures).toEqual([]);
    const got = values(await readTopic(servers, 'alo-out', { count: 1200 }));
    expect(new Set(got).size).toBe(1200);
    expect(h.head.connectorMetrics!()).toMatchObject({
      recordsSent: 1200,
      bytesWritten: got.reduce((n, v) => n + v.length, 0),
    });
    h.close();
  });
});
