import { Partitioners, type Message, type PartitionerArgs, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { committedRecords, stablePartitioner } from './client.js';

const partitionMetadata: PartitionMetadata[] = [0, 1, 2].map((partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
}));

/** Partitions `messages` as kafkajs does for one attempt of a produce request. */
function assign(partition: (args: PartitionerArgs) => number, messages: readonly Message[]): number[] {
  return messages.map((message) => partition({ topic: 't', partitionMetadata, message }));
}

describe('stablePartitioner', () => {
  // Ten records over three partitions: a second round-robin pass starts elsewhere.
  const keyless = (): Message[] => Array.from({ length: 10 }, (_, i) => ({ value: String(i) }));

  it("gives a keyless record the same partition when kafkajs's retry partitions the request again", () => {
    const messages = keyless();
    const partition = stablePartitioner(Partitioners.DefaultPartitioner)();
    const first = assign(partition, messages);
    expect(assign(partition, messages)).toEqual(first);
    // Still spread over every partition, round-robin.
    expect(new Set(first)).toEqual(new Set([0, 1, 2]));
    // Other records (the next transaction's) get partitions of their own.
    expect(assign(partition, keyless())).toHaveLength(10);
  });

  it("kafkajs's own partitioner moves keyless records on a retry (what duplicated them)", () => {
    const messages = keyless();
    const partition = Partitioners.DefaultPartitioner();
    expect(assign(partition, messages)).not.toEqual(assign(partition, messages));
  });

  it('keeps explicit partitions and partitions keyed records by their key', () => {
    const partition = stablePartitioner(Partitioners.DefaultPartitioner)();
    const base = Partitioners.DefaultPartitioner();
    const keyed: Message[] = ['a', 'b', 'c', 'd'].map((key) => ({ key, value: key }));
    expect(assign(partition, keyed)).toEqual(assign(base, keyed));
    expect(assign(partition, [{ value: 'x', partition: 2 }])).toEqual([2]);
  });
});

describe('committedRecords', () => {
  type M = {
    offset: string;
    key: Buffer | null;
    value: string;
    isControlRecord?: boolean;
    batchContext: { producerId: string; inTransaction: boolean };
  };
  const data = (offset: number, producerId: string): M => ({
    offset: String(offset),
    key: null,
    value: `${producerId}@${offset}`,
    batchContext: { producerId, inTransaction: true },
  });
  const marker = (offset: number, producerId: string, type: 0 | 1): M => ({
    offset: String(offset),
    key: Buffer.from([0, 0, 0, type]),
    value: '',
    isControlRecord: true,
    batchContext: { producerId, inTransaction: true },
  });
  // Producer 1 begins first (offsets 0-2), producer 2 after it (3-5); producer 2 aborts first
  // (6), then producer 1 (7); producer 2 then commits a transaction (8-9, marker 10). The
  // broker lists the aborted transactions in the order they ended.
  const messages = [
    data(0, '1'),
    data(1, '1'),
    data(2, '1'),
    data(3, '2'),
    data(4, '2'),
    data(5, '2'),
    marker(6, '2', 0),
    marker(7, '1', 0),
    data(8, '2'),
    data(9, '2'),
    marker(10, '2', 1),
  ];
  const aborted = [
    { producerId: '2', firstOffset: '3' },
    { producerId: '1', firstOffset: '0' },
  ];

  it('drops the records of overlapping aborted transactions whatever order the broker lists them in', () => {
    expect(committedRecords(messages, aborted).map((m) => m.value)).toEqual(['2@8', '2@9']);
    expect(committedRecords(messages, [...aborted].reverse()).map((m) => m.value)).toEqual(['2@8', '2@9']);
  });

  it("kafkajs's own filter lets the earlier-begun transaction through (why Freshet filters itself)", async () => {
    const { default: filterAbortedMessages } = (await import(
      // @ts-expect-error -- kafkajs internals without types
      'kafkajs/src/consumer/filterAbortedMessages.js'
    )) as { default: (a: { messages: M[]; abortedTransactions: typeof aborted }) => M[] };
    const kept = filterAbortedMessages({ messages, abortedTransactions: aborted }).filter(
      (m) => m.isControlRecord !== true,
    );
    expect(kept.map((m) => m.value)).toEqual(['1@0', '1@1', '1@2', '2@8', '2@9']);
  });

  it('keeps non-transactional records and drops control records without aborted transactions', () => {
    const plain: M = { ...data(0, '-1'), batchContext: { producerId: '-1', inTransaction: false } };
    expect(committedRecords([plain, marker(1, '3', 1)], []).map((m) => m.value)).toEqual(['-1@0']);
  });
});
