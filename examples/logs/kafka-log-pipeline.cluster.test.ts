/**
 * The Kafka log pipeline on a cluster — a JobManager and two TaskManager
 * processes, a real Kafka broker, the real Postgres — with a TaskManager
 * killed (SIGKILL) in the middle of the run. The job restarts from its
 * latest checkpoint; the counts table and the alerts topic must still equal
 * what the lines imply exactly: no window missing, none counted twice, no
 * alert duplicated.
 */
import { readFile } from 'node:fs/promises';
import type { JobManagerClient } from '@freshet/jobmanager/client';
import { adminClient, ensureBuilt, ProcessGroup, type TaskManagerProcess } from '@freshet/jobmanager/testing';
import { startKafkaBroker, type KafkaBroker } from '@freshet/kafka-testing';
import { createTestDatabaseUrl, testPostgresAdminUrl, type TestPostgresDatabase } from '@freshet/db/testing';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../harness.js';
import { alertsIn, COUNTS_TABLE_SQL, countsIn } from './checks.js';
import { expectedResults, generateAccessLog, produceAccessLog } from './load-generator.js';

const admin = testPostgresAdminUrl();
/** The job's tasks talk to the broker and to Postgres: they need the host's network in their sandbox. */
const TASK_NETWORK = ['--task-network', 'host'];

async function until<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(admin === undefined)(
  'the Kafka log pipeline on a cluster, with a TaskManager killed mid-run',
  () => {
    let group: ProcessGroup;
    let broker: KafkaBroker | undefined;
    let db: TestPostgresDatabase | undefined;
    let client: pg.Client;
    let kafka: Kafka;
    let jm: JobManagerClient;
    let tms: TaskManagerProcess[];
    let jobManagerUrl: string;

    beforeAll(async () => {
      await ensureBuilt();
      group = new ProcessGroup();
      [broker, db] = await Promise.all([startKafkaBroker(), createTestDatabaseUrl()]);
      const database = await group.createDatabase();
      const jmProcess = await group.startJobManager({ ...database, heartbeatTimeoutMs: 3000 });
      jobManagerUrl = jmProcess.url;
      tms = await Promise.all([
        group.startTaskManager({ jobManagerUrl: jmProcess.url, slots: 2, args: TASK_NETWORK }),
        group.startTaskManager({ jobManagerUrl: jmProcess.url, slots: 2, args: TASK_NETWORK }),
      ]);
      jm = adminClient(jmProcess);
      client = new pg.Client({ connectionString: db!.url });
      await client.connect();
      await client.query(COUNTS_TABLE_SQL);
      kafka = new Kafka({
        clientId: 'pipeline-cluster-test',
        brokers: [broker.bootstrapServers],
        logLevel: logLevel.NOTHING,
      });
      const a = kafka.admin();
      await a.connect();
      await a.createTopics({
        topics: [{ topic: 'access-log', numPartitions: 2 }, { topic: 'alerts' }],
        waitForLeaders: true,
      });
      await a.disconnect();
    }, 300_000);
    afterAll(async () => {
      await client?.end();
      await group?.dispose();
      await db?.dispose();
      await broker?.stop();
    });

    it('ends with exactly the expected counts and alerts', async () => {
      const { lines, entries } = generateAccessLog(12_000);
      // Lines far in the future at the end of every partition move the watermark past every window of the run
      // (their own window never closes, so they are not counted).
      const future = Date.UTC(2024, 4, 1, 18, 0, 0);
      const d = new Date(future + 2 * 3600_000);
      const sentinel = `10.0.0.1 - - [${String(d.getUTCDate()).padStart(2, '0')}/May/2024:${String(d.getUTCHours()).padStart(2, '0')}:00:00 +0200] "GET / HTTP/1.1" 200 1 "-" "end"`;
      const expected = expectedResults(entries, 50);

      // The program is made of several files: upload its bundle (as `freshet run --jobmanager` does), without the
      // require banner the JobManager adds again.
      const { bundlePath } = await compile(`${import.meta.dirname}/kafka-log-pipeline.ts`);
      const banner =
        "import { createRequire as __freshetCreateRequire } from 'node:module';\nconst require = __freshetCreateRequire(import.meta.url);\n";
      const code = (await readFile(bundlePath, 'utf8')).replace(banner, '');
      const form = new FormData();
      form.append('file', new Blob([code]), 'kafka-log-pipeline.mjs');
      const { artifact } = await jm.artifacts.upload.mutate(form);
      const { jobId } = await jm.jobs.submit.mutate({
        artifactId: artifact.id,
        parallelism: 2,
        args: [
          '--bootstrap-servers',
          broker!.bootstrapServers,
          '--postgres',
          db!.url,
          '--burst',
          '50',
          '--checkpoint-ms',
          '500',
          '--idle-ms',
          '60000',
        ],
      });
      await until(
        'the job to run',
        () => jm.jobs.get.query({ jobId }),
        (j) => j.status === 'RUNNING',
        60_000,
      );
      // Produce while it runs, about 3,000 lines a second.
      const producing = produceAccessLog(broker!.bootstrapServers, 'access-log', lines, {
        partitions: 2,
        ratePerSecond: 3000,
      });

      // Once rows are in Postgres (a checkpoint completed and committed them), kill a TaskManager that runs part of the job.
      await until(
        'the first committed counts',
        () => countsIn(client),
        (rows) => rows.length > 0,
        60_000,
      );
      const job = await jm.jobs.get.query({ jobId });
      const used = new Set(job.subtasks.map((s) => s.taskManager?.id));
      const victim = tms.find((t) => used.has(t.taskManagerId)) ?? tms[0]!;
      await victim.kill();
      await group.startTaskManager({ jobManagerUrl, slots: 2, args: TASK_NETWORK });
      await producing;
      await produceAccessLog(broker!.bootstrapServers, 'access-log', [sentinel, sentinel], { partitions: 2 });

      const want = expected.counts.map((c) => `${c.windowStart} ${c.dimension} ${c.value} ${c.count}`).sort();
      await until(
        'the counts table',
        () => countsIn(client),
        (rows) => rows.length >= want.length && JSON.stringify(rows) === JSON.stringify(want),
        120_000,
      ).catch(async (error: unknown) => {
        const j = await jm.jobs.get.query({ jobId });
        throw new Error(
          `${(error as Error).message}\njob: ${JSON.stringify({ status: j.status, exceptions: (j as { exceptions?: unknown }).exceptions }).slice(0, 3000)}`,
        );
      });
      const after = await jm.jobs.get.query({ jobId });
      expect(after.status).toBe('RUNNING');
      expect(await countsIn(client)).toEqual(want);
      expect(await alertsIn(kafka, 'alerts', expected.alerts.length)).toEqual(
        expected.alerts.map((a) => `${a.windowStart} ${a.errors}`),
      );
      // The restart happened: a later attempt runs.
      expect(Math.max(...after.subtasks.map((s) => s.attempt))).toBeGreaterThan(0);
      await jm.jobs.cancel.mutate({ jobId });
    });
  },
);
