/**
 * The Kafka benchmark's job: JSON events from a topic (bounded: what the
 * topic held at the start), counted per key in 1-second event-time tumbling
 * windows, the counts written to another topic with the given delivery.
 * Arguments: `<bootstrap servers> <in topic> <out topic> <delivery>
 * [checkpoint interval ms]` (0 or none: no checkpoints; the exactly-once
 * sink then commits once per subtask at the end).
 */
import { Time, TumblingEventTimeWindows, WatermarkStrategy, defineProgram } from '@freshet/api';
import {
  KafkaDeserializers,
  KafkaSerializers,
  KafkaSink,
  KafkaSource,
  OffsetsInitializer,
} from '@freshet/connectors';

interface Event {
  key: string;
  t: number;
}

export default defineProgram((env, args) => {
  const [servers, input, output, delivery, interval = '0'] = args as [
    string,
    string,
    string,
    'exactly-once' | 'at-least-once',
    string?,
  ];
  if (Number(interval) > 0) env.enableCheckpointing(Number(interval));
  env
    .fromSource(
      KafkaSource.builder<Event>()
        .setBootstrapServers(servers)
        .setTopics(input)
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setBounded()
        .setValueOnlyDeserializer(KafkaDeserializers.json<Event>())
        .build(),
      WatermarkStrategy.forBoundedOutOfOrderness<Event>(100).withTimestampAssigner((e) => e.t),
      'events',
    )
    .map((e) => ({ key: e.key, n: 1 }))
    .keyBy((c) => c.key)
    .window(TumblingEventTimeWindows.of(Time.seconds(1)))
    .reduce((a, b) => ({ key: a.key, n: a.n + b.n }))
    .sinkTo(
      KafkaSink.builder<{ key: string; n: number }>()
        .setBootstrapServers(servers)
        .setTopic(output)
        .setRecordSerializer(KafkaSerializers.json((c) => c.key))
        .setDeliveryGuarantee(delivery)
        .setTransactionalIdPrefix(`bench-${output}`)
        .build(),
    );
});
