import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** `freshet nexmark run QUERY` on 20,000 generated events at parallelism 2 in streaming mode, into `out`. */
const runQuery = (query: string, out: string, ...extra: string[]): Promise<unknown> =>
  buildProgram().parseAsync(
    [
      'node',
      'freshet',
      'nexmark',
      'run',
      query,
      '--events',
      '20000',
      '--seed',
      '5',
      '--output',
      out,
      '--parallelism',
      '2',
    ].concat(['--mode', 'streaming'], extra),
  );

/** The hand-written baseline's results of `query` over the same events. */
function baseline(query: 'q4' | 'q5'): unknown[] {
  const base = createBaseline(query, { keep: true });
  const gen = new NexmarkGenerator({ seed: 5, events: 20_000 });
  while (gen.hasNext()) base.push(gen.next());
  base.finish();
  return base.results;
}

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
    await runQuery('q4', out);
    expect(readLines(out)).toEqual(finalPerKey(baseline('q4'), 'id'));
  });

  it('runs q5 with checkpoints (plan overrides re-planned in every worker) to the same result', async () => {
    const out = join(dir, 'q5.jsonl');
    const checkpoints = join(dir, 'checkpoints');
    await runQuery(
      'q5',
      out,
      '--checkpoint-interval',
      '50',
      '--restart-strategy',
      'fixed-delay:1:0',
      '--checkpoint-dir',
      checkpoints,
    );
    const canonical = (rs: unknown[]) =>
      rs.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
    expect(canonical(readLines(out))).toEqual(canonical(baseline('q5')));
    // The retained checkpoints stay in --checkpoint-dir: <dir>/<job>/chk-<N>/_metadata.
    const [job] = readdirSync(checkpoints);
    expect(
      readdirSync(join(checkpoints, job!)).filter((d) => d.startsWith('chk-')).length,
    ).toBeGreaterThanOrEqual(1);
  });
});
