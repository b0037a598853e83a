import { createWriteStream } from 'node:fs';
import type { NexmarkConfig } from './config.js';
import { NexmarkGenerator } from './generator.js';

/**
 * Writes `events` generated events as JSON lines (`{"event_type":0,"person":{…}}`,
 * `{"event_type":1,"auction":{…}}`, `{"event_type":2,"bid":{…}}`) to `path`.
 * Resolves when the file is flushed and closed.
 */
export async function writeEventsJsonLines(
  path: string,
  events: number,
  config: NexmarkConfig,
): Promise<void> {
  const out = createWriteStream(path);
  const gen = new NexmarkGenerator({ ...config, events });
  const chunk: string[] = [];
  const write = (s: string): Promise<void> | undefined =>
    out.write(s) ? undefined : new Promise<void>((resolve) => out.once('drain', resolve));
  while (gen.hasNext()) {
    chunk.push(JSON.stringify(gen.next()));
    if (chunk.length === 4096 || !gen.hasNext()) {
      const waiting = write(`${chunk.join('\n')}\n`);
      chunk.length = 0;
      if (waiting) await waiting;
    }
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(resolve);
  });
}
