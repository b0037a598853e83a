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
import { alertsIn, COUNTS_TABLE_SQL, countsIn } from './checks.js';
import { expectedResults, generateAccessLog, produceAccessLog } from './load-generator.js';

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
