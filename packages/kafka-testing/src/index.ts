/**
 * Test support for Kafka connectors: `startKafkaBroker()` runs a real Apache
 * Kafka 4 broker (one KRaft node on 127.0.0.1) from Maven Central's jars.
 *
 * @packageDocumentation
 */
export { startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './broker.js';
export type { KafkaPropertyValue } from './config.js';
export {
  KAFKA_VERSION,
  KafkaHarnessError,
  defaultKafkaCacheDir,
  kafkaJarsDir,
  resolveKafkaJars,
  type KafkaHarnessErrorCode,
  type KafkaJars,
  type ResolveKafkaJarsOptions,
} from './jars.js';
export { isProcessAlive, kafkaBrokerPids } from './reaper.js';
