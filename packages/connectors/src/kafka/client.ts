// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ambient types of kafkajs internals (no runtime module to import)
/// <reference path="./kafkajs-internals.d.ts" />
/**
 * The Kafka client the connectors use: kafkajs 2.2.4 (pure JavaScript,
 * idempotent and transactional producers, read_committed fetches; it
 * installs from the npm registry with no native binary). Producers and the
 * admin client are kafkajs's public API. Reading assigns partitions
 * directly (no consumer group, positions kept by Freshet), through kafkajs's
 * cluster and broker objects; see `kafkajs-internals.d.ts`.
 *
 * kafkajs is imported lazily, when a reader or writer connects, so planning
 * a program (which only builds connector objects) never loads it.
 */
import type { ICustomPartitioner, Kafka, Message, Producer } from 'kafkajs';
import type Cluster from 'kafkajs/src/cluster/index.js';
import type { AbortedTransaction, FetchPartitionData } from 'kafkajs/src/cluster/index.js';
import { ConnectorConfigError, ConnectorUnavailableError } from '../errors.js';

/** How to reach the brokers. */
export interface KafkaConnection {
  /** `host:port` of one or more brokers. */
  bootstrapServers: string[];
  /** Client id prefix (kafkajs `clientId`). */
  clientId: string;
  /** Connection timeout in ms. @default 3000 */
  connectionTimeoutMs?: number;
  /** Request timeout in ms. @default 30000 */
  requestTimeoutMs?: number;
}

/** One fetched record. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
}

const READ_COMMITTED = 1;

/** Makes a kafkajs error say which brokers it was about. */
export function kafkaError(what: string, servers: readonly string[], error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const name = (error as { name?: string } | undefined)?.name ?? '';
  if (
    /Connection|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|NumberOfRetriesExceeded|timed? ?out/i.test(
      `${name} ${message}`,
    )
  ) {
    return new ConnectorUnavailableError(
      `${what}: cannot reach the Kafka brokers ${servers.join(',')}: ${message}; check the bootstrap servers and that the brokers run`,
      { cause: error },
    );
  }
  return new ConnectorUnavailableError(`${what} (brokers ${servers.join(',')}): ${message}`, {
    cause: error,
  });
}

async function loadKafkajs(): Promise<typeof import('kafkajs')> {
  return import('kafkajs');
}

/** A kafkajs client for producers and the admin API, logging nothing (errors surface as failures). */
export async function createKafka(c: KafkaConnection): Promise<Kafka> {
  const { Kafka: KafkaClass, logLevel } = await loadKafkajs();
  return new KafkaClass({
    clientId: c.clientId,
    brokers: c.bootstrapServers,
    connectionTimeout: c.connectionTimeoutMs ?? 3000,
    requestTimeout: c.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.NOTHING,
    // Transactions wait on the coordinator between steps: kafkajs's 300 ms first back-off would cost each a third of a second.
    retry: { initialRetryTime: 50, retries: 5 },
  });
}

/**
 * `base` (kafkajs's default partitioner), with each keyless record keeping
 * the partition it was first given. kafkajs partitions a request's records
 * again on every internal retry, and spreads keyless records round-robin;
 * so when a retried request had in fact been appended (one partition's
 * retriable error fails the whole request; a timeout), the retry wrote the
 * same records to other partitions, under sequence numbers the idempotent
 * producer cannot recognise there, and a transaction committed both copies.
 * With the same partitions the retry is the same batches under the same
 * sequence numbers, which the broker drops as duplicates. A keyed record's
 * partition is a hash of its key, and an explicit one is kept, so those
 * were stable already.
 */
export function stablePartitioner(base: ICustomPartitioner): ICustomPartitioner {
  return () => {
    const partition = base();
    const given = new WeakMap<Message, number>();
    return (args) => {
      const { message } = args;
      if (message.partition !== undefined || (message.key !== null && message.key !== undefined))
        return partition(args);
      let p = given.get(message);
      if (p === undefined) {
        p = partition(args);
        given.set(message, p);
      }
      return p;
    };
  };
}

/** A connected producer. */
export async function connectProducer(
  c: KafkaConnection,
  options: { transactionalId?: string; idempotent: boolean },
): Promise<Producer> {
  const kafka = await createKafka(c);
  const { Partitioners } = await loadKafkajs();
  const producer = kafka.producer({
    createPartitioner: stablePartitioner(Partitioners.DefaultPartitioner),
    allowAutoTopicCreation: false,
    idempotent: options.idempotent,
    maxInFlightRequests: options.idempotent ? 1 : 5,
    ...(options.transactionalId === undefined
      ? {}
      : { transactionalId: options.transactionalId, transactionTimeout: 600_000 }),
  });
  await producer.connect();
  return producer;
}

/** The control record key of an ABORT marker: version 0, type 0. */
const ABORT_MARKER = Buffer.from([0, 0, 0, 0]);

/**
 * The records of a read_committed fetch that belong to no aborted
 * transaction, without the control records, in offset order — what Kafka's
 * Java consumer keeps. The broker sends every record up to the last stable
 * offset and lists the aborted transactions (producer, first offset); a
 * producer's records count as aborted from its transaction's first offset
 * to its next ABORT marker. The list is ordered by where each transaction
 * ended, not where it began, so it is sorted by first offset here, and
 * every transaction begun at or before a record is taken into account
 * before it. kafkajs's own filter (its consumer's `Batch`) takes the list in
 * the broker's order and at most one transaction per record, so when two
 * producers' aborted transactions overlap in a partition and the later
 * begun one aborted first, it lets the other's records through.
 */
export function committedRecords<
  M extends {
    offset: string;
    key: Buffer | null;
    isControlRecord?: boolean;
    batchContext: { producerId: string; inTransaction: boolean };
  },
>(messages: readonly M[], abortedTransactions: readonly AbortedTransaction[] | null | undefined): M[] {
  if (!abortedTransactions || abortedTransactions.length === 0)
    return messages.filter((m) => m.isControlRecord !== true);
  // Offsets as numbers, as everywhere in the reader (exact below 2^53).
  const pending = [...abortedTransactions].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  const aborting = new Set<string>();
  const out: M[] = [];
  let next = 0;
  for (const m of messages) {
    const offset = Number(m.offset);
    while (next < pending.length && Number(pending[next]!.firstOffset) <= offset)
      aborting.add(pending[next++]!.producerId);
    const producer = m.batchContext.producerId;
    if (m.isControlRecord === true) {
      if (m.key !== null && ABORT_MARKER.equals(m.key)) aborting.delete(producer);
      continue;
    }
    if (m.batchContext.inTransaction && aborting.has(producer)) continue;
    out.push(m);
  }
  return out;
}

/** Reads partitions directly (no consumer group), read_committed. */
export class PartitionFetcher {
  private cluster!: Cluster;
  private readonly topics = new Set<string>();

  constructor(private readonly c: KafkaConnection) {}

  /** Connects and loads the metadata of `topics`. */
  async connect(topics: readonly string[]): Promise<void> {
    const [{ default: ClusterClass }, loggers, { default: LoggerConsole }, { default: socketFactory }] =
      await Promise.all([
        import('kafkajs/src/cluster/index.js'),
        import('kafkajs/src/loggers/index.js'),
        import('kafkajs/src/loggers/console.js'),
        import('kafkajs/src/network/socketFactory.js'),
      ]);
    this.cluster = new ClusterClass({
      logger: loggers.createLogger({ level: loggers.LEVELS.NOTHING, logCreator: LoggerConsole }),
      retry: { initialRetryTime: 50, retries: 5 },
      offsets: new Map(),
      socketFactory: socketFactory(),
      brokers: this.c.bootstrapServers,
      clientId: this.c.clientId,
      connectionTimeout: this.c.connectionTimeoutMs ?? 3000,
      requestTimeout: this.c.requestTimeoutMs ?? 30_000,
      enforceRequestTimeout: true,
      metadataMaxAge: 300_000,
      allowAutoTopicCreation: false,
      isolationLevel: READ_COMMITTED,
    });
    await this.cluster.connect();
    await this.addTopics(topics);
  }

  /** Loads the metadata of more topics. */
  async addTopics(topics: readonly string[]): Promise<void> {
    const fresh = topics.filter((t) => !this.topics.has(t));
    if (fresh.length === 0) return;
    for (const t of fresh) this.topics.add(t);
    await this.cluster.addMultipleTargetTopics([...this.topics]);
  }

  /** Refreshes the metadata (leaders, partitions). */
  async refresh(): Promise<void> {
    await this.cluster.refreshMetadata();
  }

  /** Partition ids of `topic` (empty when the topic does not exist). */
  partitionsOf(topic: string): number[] {
    return this.cluster
      .findTopicPartitionMetadata(topic)
      .map((p) => p.partitionId)
      .sort((a, b) => a - b);
  }

  /** Offsets per partition: earliest, latest (the last stable offset under read_committed) or the first at or after a timestamp. */
  async offsets(
    topic: string,
    partitions: readonly number[],
    at: 'earliest' | 'latest' | { timestamp: number },
  ): Promise<Map<number, number>> {
    const [result] = await this.cluster.fetchTopicsOffset([
      {
        topic,
        partitions: partitions.map((partition) => ({ partition })),
        ...(at === 'earliest'
          ? { fromBeginning: true }
          : at === 'latest'
            ? { fromBeginning: false }
            : { fromTimestamp: at.timestamp }),
      },
    ]);
    const out = new Map<number, number>();
    for (const p of result?.partitions ?? []) out.set(p.partition, Number(p.offset));
    return out;
  }

  /**
   * One fetch of `partitions` (each from its offset), grouped by leader.
   * Returns the records per partition, the next fetch offset (past control
   * records and aborted transactions too) and the high watermark.
   */
  async fetch(
    partitions: readonly { topic: string; partition: number; offset: number }[],
    maxWaitMs: number,
    maxBytesPerPartition: number,
  ): Promise<
    {
      topic: string;
      partition: number;
      records: KafkaRecord[];
      nextOffset: number;
      highWatermark: number;
      errorCode: number;
    }[]
  > {
    const byLeader = new Map<string, { topic: string; partition: number; offset: number }[]>();
    for (const p of partitions) {
      const leaders = this.cluster.findLeaderForPartitions(p.topic, [p.partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) continue;
      let list = byLeader.get(nodeId);
      if (!list) byLeader.set(nodeId, (list = []));
      list.push(p);
    }
    const results = await Promise.all(
      [...byLeader].map(async ([nodeId, list]) => {
        const broker = await this.cluster.findBroker({ nodeId });
        const topics = new Map<string, { partition: number; fetchOffset: string; maxBytes: number }[]>();
        for (const p of list) {
          let ps = topics.get(p.topic);
          if (!ps) topics.set(p.topic, (ps = []));
          ps.push({ partition: p.partition, fetchOffset: String(p.offset), maxBytes: maxBytesPerPartition });
        }
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: maxWaitMs,
          minBytes: 1,
          maxBytes: maxBytesPerPartition * list.length,
          topics: [...topics].map(([topic, ps]) => ({ topic, partitions: ps })),
        });
        const offsets = new Map(list.map((p) => [`${p.topic}\u0000${p.partition}`, p.offset]));
        return response.responses.flatMap((r) =>
          r.partitions.map((data) =>
            this.toResult(r.topicName, data, offsets.get(`${r.topicName}\u0000${data.partition}`) ?? 0),
          ),
        );
      }),
    );
    return results.flat();
  }

  private toResult(topic: string, data: FetchPartitionData, fetchOffset: number) {
    const highWatermark = Number(data.highWatermark);
    if (data.errorCode !== 0)
      return {
        topic,
        partition: data.partition,
        records: [],
        nextOffset: fetchOffset,
        highWatermark,
        errorCode: data.errorCode,
      };
    // A compressed batch may start before the fetch offset: its earlier records were read already.
    const fetched = data.messages.filter((m) => Number(m.offset) >= fetchOffset);
    const records: KafkaRecord[] = [];
    for (const m of committedRecords(fetched, data.abortedTransactions)) {
      records.push({
        topic,
        partition: data.partition,
        offset: Number(m.offset),
        timestamp: Number(m.timestamp),
        key: m.key,
        value: m.value,
        headers: m.headers,
      });
    }
    // Past the last record fetched, control records and aborted ones included.
    const last = fetched.at(-1);
    const nextOffset = last === undefined ? fetchOffset : Number(last.offset) + 1;
    return { topic, partition: data.partition, records, nextOffset, highWatermark, errorCode: 0 };
  }

  async disconnect(): Promise<void> {
    await this.cluster?.disconnect();
  }
}

/** `host:port[,host:port...]` (a string or a list) as a list; throws when it names no broker. */
export function parseBootstrapServers(what: string, servers: string | readonly string[]): string[] {
  const list = (typeof servers === 'string' ? servers.split(',') : [...servers])
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new ConnectorConfigError(`${what}.setBootstrapServers expects host:port of at least one broker`);
  return list;
}

/** Throws unless every topic exists. */
export function requireTopics(
  what: string,
  servers: readonly string[],
  wanted: readonly string[],
  existing: readonly string[],
): void {
  const have = new Set(existing);
  const missing = wanted.filter((t) => !have.has(t));
  if (missing.length > 0) {
    throw new ConnectorConfigError(
      `${what}: topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} do${missing.length > 1 ? '' : 'es'} not exist on ${servers.join(',')}; create ${missing.length > 1 ? 'them' : 'it'} first`,
    );
  }
}
