import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isProcessAlive, kafkaBrokerPids, startKafkaBroker, type KafkaBroker } from './index.js';

describe('startKafkaBroker', () => {
  let broker: KafkaBroker | undefined;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startKafkaBroker();
    kafka = new Kafka({
      clientId: 'kafka-testing',
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
      // Transactions wait on the coordinator between steps; kafkajs's 300 ms
      // first back-off would make each one cost a third of a second.
      retry: { initialRetryTime: 50, retries: 8 },
    });
  });
  // Runs on failure too; stop() is idempotent, so the last test's stop is no obstacle.
  afterAll(() => broker?.stop());

  test('listens on a loopback port and names its log file', () => {
    expect(broker!.bootstrapServers).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(existsSync(broker!.logFile)).toBe(true);
    expect(isProcessAlive(broker!.pid)).toBe(true);
    // `await using broker = await startKafkaBroker()` stops it at the end of the scope.
    expect(broker![Symbol.asyncDispose]).toBe(broker!.stop);
  });

  test('a topic created with the admin API accepts records, which a consumer reads back', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }], waitForLeaders: true });
      expect(await admin.listTopics()).toContain('orders');
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 4}`, value: `order-${i}` }));
    try {
      const acks = await producer.send({ topic: 'orders', messages: sent });
      expect(acks.every((a) => a.errorCode === 0)).toBe(true);
    } finally {
      await producer.disconnect();
    }
    const read = await consumeUntil(kafka, 'orders', 'read_committed', (ms) => ms.length === sent.length);
    expect(read.map((m) => m.value!.toString()).sort()).toEqual(sent.map((m) => m.value).sort());
  });

  test('a read_committed consumer sees committed transactions only', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'payments' }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer({
      transactionalId: 'kafka-testing-tx',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const inTransaction = async (values: string[], end: 'commit' | 'abort') => {
        const tx = await producer.transaction();
        await tx.send({ topic: 'payments', messages: values.map((value) => ({ value })) });
        await (end === 'commit' ? tx.commit() : tx.abort());
      };
      await inTransaction(['c1', 'c2'], 'commit');
      await inTransaction(['a1', 'a2'], 'abort');
      await inTransaction(['c3'], 'commit');
      await inTransaction(['a3'], 'abort');
      await inTransaction(['end'], 'commit');
    } finally {
      await producer.disconnect();
    }

    const isEnd = (ms: KafkaMessage[]) => ms.some((m) => m.value?.toString() === 'end');
    const committed = await consumeUntil(kafka, 'payments', 'read_committed', isEnd);
    expect(committed.map((m) => m.value!.toString())).toEqual(['c1', 'c2', 'c3', 'end']);
    // The aborted records are in the log: an uncommitted read sees them, so
    // the filtering above is the isolation level at work.
    const all = await consumeUntil(kafka, 'payments', 'read_uncommitted', isEnd);
    expect(all.map((m) => m.value!.toString())).toEqual(['c1', 'c2', 'a1', 'a2', 'c3', 'a3', 'end']);
  });

  test('producing to a missing topic fails: automatic topic creation is off', async () => {
    // kafkajs asks for auto-creation by default, so this proves the broker's setting.
    const producer = kafka.producer({ retry: { retries: 1, initialRetryTime: 50 } });
    await producer.connect();
    try {
      await expect(producer.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] })).rejects.toThrow(
        /does not host this topic-partition/,
      );
    } finally {
      await producer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.listTopics()).not.toContain('no-such-topic');
    await admin.disconnect();
  });

  test('stop() kills the JVM and removes its directory', async () => {
    const { pid, logFile } = broker!;
    expect(await kafkaBrokerPids()).toContain(pid);
    await broker!.stop();
    expect(isProcessAlive(pid)).toBe(false);
    expect(await kafkaBrokerPids()).not.toContain(pid);
    expect(existsSync(dirname(logFile))).toBe(false);
    await broker!.stop(); // idempotent
  });
});

/** Reads `topic` from the beginning in a fresh group until `done` holds for what was read. */
async function consumeUntil(
  kafka: Kafka,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted',
  done: (messages: KafkaMessage[]) => boolean,
): Promise<KafkaMessage[]> {
  const consumer: Consumer = kafka.consumer({
    groupId: `kafka-testing-${topic}-${isolation}-${Date.now()}`,
    readUncommitted: isolation === 'read_uncommitted',
    // Short polls: disconnect() waits for the fetch in flight.
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  const messages: KafkaMessage[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out reading ${topic}; read so far: ${messages.length}`));
      }, 20_000);
      consumer
        .run({
          eachMessage: ({ message }) => {
            messages.push(message);
            if (done(messages)) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
