/**
 * The Kafka log pipeline on the local mini-cluster, with a real Kafka broker
 * and the real Postgres (`FRESHET_TEST_DATABASE_URL`): access-log lines from
 * the load generator go in, and the counts table and the alerts topic must
 * equal what the lines imply, exactly.
 */
import { startKafkaBroker, type KafkaBroker } from '@freshet/kafka-testing';
import { createTestDatabaseUrl, testPostgresAdminUrl, type TestPostgresDatabase } from '@freshet/db/testing';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, runProgram, type Compiled } from '../harness.js';
import { expectedResults, generateAccessLog, produceAccessLog } from './load-generator.js';

/** The table the pipeline upserts into. */
export const COUNTS_TABLE_SQL =
  'CREATE TABLE log_counts (window_start timestamptz NOT NULL, dimension text NOT NULL, value text NOT NULL, count integer NOT NULL, PRIMARY KEY (window_start, dimension, value))';

/** Every row of the counts table, as the expected results list them. */
export async function countsIn(client: pg.Client): Promise<string[]> {
  const r = await client.query<{ w: Date; dimension: string; value: string; count: number }>(
    'SELECT window_start AS w, dimension, value, count FROM log_counts',
  );
  return r.rows.map((row) => `${row.w.getTime()} ${row.dimension} ${row.value} ${row.count}`).sort();
}

/** Every committed alert in the topic (read_committed). */
export async function alertsIn(kafka: Kafka, topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `check-alerts-${Date.now()}-${Math.random()}` });
  const got: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const a = JSON.parse(message.value!.toString()) as { windowStart: number; errors: number };
      got.push(`${a.windowStart} ${a.errors}`);
      return Promise.resolve();
    },
  });
  // Read until the expected number arrived, then a little longer: a duplicate would show.
  const deadline = Date.now() + 20_000;
  while (got.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1500));
  await consumer.disconnect();
  return got.sort();
}

const admin = testPostgresAdminUrl();

describe.skipIf(admin === undefined)(
  'the Kafka log pipeline, locally (set FRESHET_TEST_DATABASE_URL to run it)',
  () => {
    let broker: KafkaBroker | undefined;
    let db: TestPostgresDatabase | undefined;
    let client: pg.Client;
    let kafka: Kafka;
    let program: Compiled;

    beforeAll(async () => {
      [broker, db, program] = await Promise.all([
        startKafkaBroker(),
        createTestDatabaseUrl(),
        compile(`${import.meta.dirname}/kafka-log-pipeline.ts`),
      ]);
      client = new pg.Client({ connectionString: db!.url });
      await client.connect();
      await client.query(COUNTS_TABLE_SQL);
      kafka = new Kafka({
        clientId: 'pipeline-test',
        brokers: [broker.bootstrapServers],
        logLevel: logLevel.NOTHING,
      });
      const a = kafka.admin();
      await a.connect();
      await a.createTopics({
        topics: [{ topic: 'access-log', numPartitions: 3 }, { topic: 'alerts' }],
        waitForLeaders: true,
      });
      await a.disconnect();
    }, 180_000);
    afterAll(async () => {
      await client?.end();
      await db?.dispose();
      await broker?.stop();
    });

    it('counts per status and path per minute into Postgres and raises the 5xx alert into Kafka, exactly', async () => {
      const { lines, entries } = generateAccessLog(6000);
      await produceAccessLog(broker!.bootstrapServers, 'access-log', lines, { partitions: 3 });
      const run = await runProgram(
        program,
        [
          '--bootstrap-servers',
          broker!.bootstrapServers,
          '--postgres',
          db!.url,
          '--bounded',
          '--burst',
          '50',
        ],
        2,
        'streaming',
      );
      expect(run.status).toBe('FINISHED');
      const expected = expectedResults(entries, 50);
      expect(expected.alerts).toHaveLength(1);
      expect(await countsIn(client)).toEqual(
        expected.counts.map((c) => `${c.windowStart} ${c.dimension} ${c.value} ${c.count}`).sort(),
      );
      expect(await alertsIn(kafka, 'alerts', 1)).toEqual(
        expected.alerts.map((a) => `${a.windowStart} ${a.errors}`),
      );
    });
  },
);
