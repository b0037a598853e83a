/** What the Kafka log pipeline's tests read back: the counts table and the alerts topic. */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';

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
