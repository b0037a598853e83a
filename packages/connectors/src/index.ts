/**
 * `@freshet/connectors`: sources and sinks of the split and writer/committer
 * framework (`env.fromSource`, `stream.sinkTo`). Provided by the host like
 * `@freshet/api` — a program imports it and its bundle reads the host's
 * copy — so the clients (kafkajs, pg) are never bundled into programs.
 *
 * | connector | source | sink |
 * | --- | --- | --- |
 * | files | {@link FileSource}: text, CSV, JSON lines; bounded or monitoring | {@link FileSink}: exactly once |
 * | Kafka | {@link KafkaSource}: partitions as splits, offsets in checkpoints | {@link KafkaSink}: exactly once (transactions) or at least once |
 * | Postgres | {@link PostgresSource}: a query in key ranges | {@link PostgresSink}: exactly-once appends, idempotent upserts |
 *
 * @packageDocumentation
 */
export {
  BadRecordError,
  ConnectorConfigError,
  ConnectorUnavailableError,
  type BadRecordDetails,
} from './errors.js';
export {
  csv,
  jsonLines,
  textLines,
  RecordDecodeError,
  type CsvOptions,
  type JsonLinesOptions,
  type RecordDecoder,
  type RecordFormat,
  type SchemaLike,
} from './file/formats.js';
export {
  FileSource,
  FileSourceBuilder,
  listFiles,
  splitsOf,
  type BadRecordPolicy,
  type FileEnumeratorState,
  type FileSourceSettings,
  type FileSplit,
} from './file/file-source.js';
export {
  BucketAssigners,
  FileSink,
  FileSinkBuilder,
  FileSinkRestoreError,
  RowEncoders,
  type BucketAssigner,
  type FileSinkWriterState,
  type PendingFile,
  type RollingPolicy,
  type RowEncoder,
} from './file/file-sink.js';
export {
  KafkaSource,
  KafkaSourceBuilder,
  OffsetsInitializer,
  kafkaSplitOwner,
  type KafkaEnumeratorState,
  type KafkaSplit,
} from './kafka/source.js';
export {
  KafkaSink,
  KafkaSinkBuilder,
  type KafkaCommittable,
  type KafkaWriterState,
  type SerializedRecord,
} from './kafka/sink.js';
export {
  KafkaDeserializers,
  KafkaSerializers,
  type KafkaProducerRecord,
  type KafkaRecordDeserializer,
  type KafkaRecordSerializer,
  type ValueDeserializer,
} from './kafka/serde.js';
export type { KafkaRecord } from './kafka/client.js';
export {
  PostgresConstraintError,
  PostgresSink,
  PostgresSinkBuilder,
  quoteIdent,
  type PostgresCommittable,
} from './postgres/sink.js';
export { PostgresSource, PostgresSourceBuilder, type PostgresSplit } from './postgres/source.js';
