#!/usr/bin/env node
// Warms the cache of the Kafka test broker's jars (Maven Central → local cache)
// and prints where they are. Node built-ins only, so it runs on a fresh clone
// before `pnpm install`: `.ci/run` starts it in the background while the
// workspace installs and builds. Tests resolve the same way and reuse the cache.
//
// Usage: node packages/kafka-testing/scripts/resolve.mjs
import { resolveKafkaJars } from '../src/jars.js';

const started = Date.now();
try {
  const jars = await resolveKafkaJars({ log: (line) => console.log(`[kafka-jars] ${line}`) });
  const how = jars.resolvedNow ? 'resolved' : 'already cached';
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`[kafka-jars] ${jars.jars.length} jars ${how} in ${jars.dir} (${seconds} s)`);
} catch (error) {
  console.error(`[kafka-jars] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
