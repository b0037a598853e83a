/**
 * The log pipeline on real systems: web-server access-log lines from a
 * Kafka topic, parsed, counted per status and per path in 1-minute
 * event-time windows, with an alert on a burst of 5xx — the counts upserted
 * into a Postgres table, the alerts written to a Kafka topic, both exactly
 * once (checkpoints every `--checkpoint-ms`).
 *
 * Arguments:
 *
 * - `--bootstrap-servers HOST:PORT` (required), `--topic T` (default `access-log`),
 *   `--alerts-topic T` (default `alerts`), `--bounded` (stop at the offsets of
 *   the job's start: a backfill that ends),
 * - `--postgres URL` (required), `--table T` (default `log_counts`, with columns
 *   `window_start timestamptz, dimension text, value text, count integer`
 *   and primary key `(window_start, dimension, value)`),
 * - `--burst N` (5xx per minute that make a burst, default 10),
 *   `--disorder-ms MS` (watermark delay, default 5000), `--checkpoint-ms MS`
 *   (default 1000), `--idle-ms MS` (a partition without records this long
 *   stops holding back the watermark, default 10000).
 *
 * Start the producer with `examples/logs/load-generator.ts`.
 */
import {
  defineProgram,
  Time,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type Collector,
  type DataStream,
  type ProcessWindowContext,
} from '@freshet/api';
import {
  KafkaDeserializers,
  KafkaSerializers,
  KafkaSink,
  KafkaSource,
  OffsetsInitializer,
  PostgresSink,
} from '@freshet/connectors';
import { parseArgs, required } from '../args.js';
import { count, parseLogLine, type Alert, type Request } from './log-pipeline.js';

/** One row of the counts table. */
export interface CountRow {
  windowStart: number;
  dimension: 'status' | 'path';
  value: string;
  count: number;
}

function perWindow(
  stream: DataStream<Request>,
  dimension: CountRow['dimension'],
  key: (r: Request) => string,
): DataStream<CountRow> {
  return stream
    .keyBy(key)
    .window(TumblingEventTimeWindows.of(Time.minutes(1)))
    .aggregate(count, {
      process(value: string, ctx: ProcessWindowContext, counts: readonly number[], out: Collector<CountRow>) {
        out.collect({ windowStart: ctx.window().start, dimension, value, count: counts[0] ?? 0 });
      },
    })
    .name(`count-per-${dimension}`);
}

export default defineProgram((env, rawArgs) => {
  const args = parseArgs(rawArgs);
  const servers = required(args, 'bootstrap-servers', 'the Kafka brokers, host:port');
  const postgres = required(args, 'postgres', 'a Postgres connection URL');
  const topic = args.get('topic') ?? 'access-log';
  const alertsTopic = args.get('alerts-topic') ?? 'alerts';
  const table = args.get('table') ?? 'log_counts';
  const burst = Number(args.get('burst') ?? 10);
  const disorderMs = Number(args.get('disorder-ms') ?? 5000);
  const idleMs = Number(args.get('idle-ms') ?? 10_000);
  env.enableCheckpointing(Number(args.get('checkpoint-ms') ?? 1000));

  const source = KafkaSource.builder<Request | null>()
    .setBootstrapServers(servers)
    .setTopics(topic)
    .setGroupId(`freshet-log-pipeline-${topic}`)
    .setStartingOffsets(OffsetsInitializer.earliest())
    // A line that is not an access-log line becomes null here and is dropped below.
    .setValueOnlyDeserializer((bytes) => parseLogLine(KafkaDeserializers.string()(bytes)) ?? null);
  if (args.has('bounded')) source.setBounded();

  const requests = env
    .fromSource(
      source.build(),
      // Per partition: each partition's watermark trails its own latest request. A malformed line has no
      // event time (-Infinity): it must not move the watermark, and it is dropped right after.
      WatermarkStrategy.forBoundedOutOfOrderness<Request | null>(disorderMs)
        .withTimestampAssigner((r) => r?.time ?? Number.NEGATIVE_INFINITY)
        .withIdleness(idleMs),
      'access-log',
    )
    .filter((r): boolean => r !== null)
    .map((r) => r!)
    .name('requests');

  perWindow(requests, 'status', (r) => String(r.status))
    .union(perWindow(requests, 'path', (r) => r.path))
    .sinkTo(
      PostgresSink.builder<CountRow>()
        .setConnectionString(postgres)
        .setTable(table)
        .setColumns('window_start', 'dimension', 'value', 'count')
        .setRowMapper((c) => [new Date(c.windowStart), c.dimension, c.value, c.count])
        .setUpsertKey('window_start', 'dimension', 'value')
        .build(),
    )
    .name('counts-to-postgres');

  requests
    .filter((r) => r.status >= 500)
    .name('server-errors')
    .windowAll(TumblingEventTimeWindows.of(Time.minutes(1)))
    .aggregate(count, {
      process(ctx: ProcessWindowContext, counts: readonly number[], out: Collector<Alert>) {
        const errors = counts[0] ?? 0;
        if (errors >= burst)
          out.collect({
            alert: '5xx-burst',
            windowStart: ctx.window().start,
            windowEnd: ctx.window().end,
            errors,
          });
      },
    })
    .name('5xx-burst')
    .sinkTo(
      KafkaSink.builder<Alert>()
        .setBootstrapServers(servers)
        .setTopic(alertsTopic)
        .setRecordSerializer(KafkaSerializers.json((a) => String(a.windowStart)))
        .setDeliveryGuarantee('exactly-once')
        .setTransactionalIdPrefix(`freshet-log-pipeline-${alertsTopic}`)
        .build(),
    )
    .name('alerts-to-kafka');
});
