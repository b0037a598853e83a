/**
 * Turning Kafka records into values and back: string, JSON, raw bytes, or
 * a function of your own.
 */
import type { KafkaRecord } from './client.js';

/** Makes a value of a Kafka record (key, value, headers, topic, partition, offset, timestamp). */
export type KafkaRecordDeserializer<T> = (record: KafkaRecord) => T;

/** Makes a value of a record's value bytes (null for a tombstone). */
export type ValueDeserializer<T> = (value: Buffer | null) => T;

/** Ready-made value deserializers (for `setValueOnlyDeserializer`). */
export const KafkaDeserializers = {
  /** The value as a UTF-8 string ('' for a tombstone). */
  string(): ValueDeserializer<string> {
    return (v) => (v === null ? '' : v.toString('utf8'));
  },
  /** The value parsed as JSON (null for a tombstone). */
  json<T = unknown>(): ValueDeserializer<T> {
    return (v) => (v === null ? null : JSON.parse(v.toString('utf8'))) as T;
  },
  /** The raw bytes. */
  bytes(): ValueDeserializer<Buffer | null> {
    return (v) => v;
  },
} as const;

/** A record to produce. */
export interface KafkaProducerRecord {
  /** Overrides the sink's topic for this record. */
  topic?: string;
  key?: string | Buffer | null;
  value: string | Buffer | null;
  /** Epoch ms; the record's event time by default. */
  timestamp?: number;
  headers?: Record<string, string | Buffer>;
  /** A fixed partition; by default the key's hash decides. */
  partition?: number;
}

/** Turns a value into the record to produce. */
export type KafkaRecordSerializer<T> = (value: T, timestamp: number) => KafkaProducerRecord;

/** Ready-made serializers (for `setRecordSerializer`). */
export const KafkaSerializers = {
  /** The value as a string (other values as JSON), no key. */
  string<T = unknown>(): KafkaRecordSerializer<T> {
    return (v) => ({ value: typeof v === 'string' ? v : JSON.stringify(v) });
  },
  /** The value as JSON, keyed by `key(value)` if given. */
  json<T = unknown>(key?: (value: T) => string): KafkaRecordSerializer<T> {
    return key === undefined
      ? (v) => ({ value: JSON.stringify(v) })
      : (v) => ({ key: key(v), value: JSON.stringify(v) });
  },
} as const;
