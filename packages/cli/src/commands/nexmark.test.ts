import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBaseline, NexmarkGenerator } from '@freshet/nexmark';
import { buildProgram } from '../program.js';
import { finalPerKey } from './nexmark.js';

const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-nexmark-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const readLines = (file: string): unknown[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as unknown);

describe('freshet nexmark', () => {
  it('generates JSON lines in the Nexmark layout', async () => {
    const out = join(dir, 'events.jsonl');
    await buildProgram().parseAsync([
      'node',
      'freshet',
      'nexmark',
      'generate',
      '--events',
      '20000',
      '--seed',
      '5',
      '--out',
      out,
    ]);
    const lines = readLines(out) as Record<string, unknown>[];
    expect(lines).toHaveLength(20_000);
    const gen = new NexmarkGenerator({ seed: 5, events: 20_000 });
    for (const line of lines) expect(line).toEqual(gen.next());
    expect(Object.keys(lines[0]!)).toEqual(['event_type', 'person']);
    expect(Object.keys(lines[1]!)).toEqual(['event_type', 'auction']);
    expect(Object.keys(lines[4]!)).toEqual(['event_type', 'bid']);
  });

  it('runs q4 and leaves the final value per category in the output file', async () => {
    const out = join(dir, 'q4.jsonl');
    await buildProgram().parseAsync([
      'node',
      'freshet',
      'nexmark',
      'run',
      'q4',
      '--events',
      '20000',
      '--seed',
      '5',
      '--output',
      out,
      '--parallelism',
      '2',
      '--mode',
      'streaming',
    ]);
    const base = createBaseline('q4', { keep: true });
    const gen = new NexmarkGenerator({ seed: 5, events: 20_000 });
    while (gen.hasNext()) base.push(gen.next());
    base.finish();
    expect(readLines(out)).toEqual(finalPerKey(base.results, 'id'));
  });
});
