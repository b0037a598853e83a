/**
 * Types of the kafkajs 2.2.4 internals the Kafka source reads with (the
 * pinned version: kafkajs is no longer released, so these do not move).
 * kafkajs's public consumer only joins consumer groups; a FLIP-27 reader
 * assigns its partitions itself and keeps its own offsets, so it fetches
 * through kafkajs's cluster and broker objects, and filters the fetched
 * records itself (`committedRecords`: aborted transactions and control
 * records), not with kafkajs's consumer `Batch`.
 */
declare module 'kafkajs/src/cluster/index.js' {
  interface PartitionMetadata {
    partitionId: number;
    leader: number;
  }
  interface FetchedMessage {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[] | undefined>;
    isControlRecord?: boolean;
    /** The record batch the record came in. */
    batchContext: { producerId: string; inTransaction: boolean };
  }
  /** A transaction the partition aborted: its producer and its first offset. */
  export interface AbortedTransaction {
    producerId: string;
    firstOffset: string;
  }
  export interface FetchPartitionData {
    partition: number;
    errorCode: number;
    highWatermark: string;
    lastStableOffset: string;
    abortedTransactions: AbortedTransaction[] | null;
    messages: FetchedMessage[];
  }
  interface Broker {
    fetch(request: {
      replicaId?: number;
      isolationLevel: number;
      maxWaitTime: number;
      minBytes: number;
      maxBytes: number;
      topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
    }): Promise<{ responses: { topicName: string; partitions: FetchPartitionData[] }[] }>;
  }
  export default class Cluster {
    constructor(options: Record<string, unknown>);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    refreshMetadata(): Promise<void>;
    addMultipleTargetTopics(topics: string[]): Promise<void>;
    findTopicPartitionMetadata(topic: string): PartitionMetadata[];
    findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
    findBroker(query: { nodeId: string }): Promise<Broker>;
    fetchTopicsOffset(
      topics: {
        topic: string;
        partitions: { partition: number }[];
        fromBeginning?: boolean;
        fromTimestamp?: number;
      }[],
    ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  }
}

declare module 'kafkajs/src/loggers/index.js' {
  export const LEVELS: Record<'NOTHING' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG', number>;
  export function createLogger(options: { level: number; logCreator: unknown }): unknown;
}

declare module 'kafkajs/src/loggers/console.js' {
  const LoggerConsole: unknown;
  export default LoggerConsole;
}

declare module 'kafkajs/src/network/socketFactory.js' {
  const socketFactory: () => unknown;
  export default socketFactory;
}
