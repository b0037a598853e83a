import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBaseline, NexmarkGenerator, writeEventsJsonLines } from '@freshet/nexmark';
import type { NexmarkEvent } from './common.js';
import { canonical, compile, runProgram, type Compiled } from '../harness.js';
import { reference } from './reference.js';

const EVENTS = 50_000;
const SEED = 1234;
const QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8'] as const;

let dir: string;
let eventsFile: string;
let events: NexmarkEvent[];
const expected = new Map<string, string[]>();
const compiled = new Map<string, Promise<Compiled>>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-nexmark-'));
  eventsFile = join(dir, 'events.jsonl');
  await writeEventsJsonLines(eventsFile, EVENTS, { seed: SEED });
  events = readFileSync(eventsFile, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as NexmarkEvent);
  for (const q of QUERIES) expected.set(q, canonical(reference[q]!(events)));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function program(q: string): Promise<Compiled> {
  let c = compiled.get(q);
  if (!c) compiled.set(q, (c = compile(join(import.meta.dirname, `${q}.ts`))));
  return c;
}

function finalPerKey(records: unknown[]): unknown[] {
  const last = new Map<unknown, unknown>();
  for (const r of records) last.set((r as { id: unknown }).id, r);
  return [...last.values()];
}

describe('Nexmark reference and baselines', () => {
  it('has non-trivial expected results', () => {
    expect(events).toHaveLength(EVENTS);
    for (const q of QUERIES)
      expect(expected.get(q)!.length, q).toBeGreaterThan(q === 'q4' || q === 'q7' ? 4 : 10);
  });

  it.each(QUERIES)('hand-written baseline of %s matches the reference', (q) => {
    const base = createBaseline(q, { keep: true });
    const gen = new NexmarkGenerator({ seed: SEED, events: EVENTS });
    while (gen.hasNext()) base.push(gen.next());
    base.finish();
    const got = q === 'q4' ? finalPerKey(base.results) : base.results;
    expect(canonical(got)).toEqual(expected.get(q));
  });
});

describe.each(QUERIES)('Nexmark %s on %i events', (q) => {
  it.each([
    [1, 'batch'],
    [4, 'batch'],
    [1, 'streaming'],
    [4, 'streaming'],
  ] as const)('at parallelism %i in %s mode equals the reference', async (p, mode) => {
    const run = await runProgram(await program(q), ['--events-file', eventsFile], p, mode);
    let got = run.collected.result ?? [];
    if (q === 'q4') got = finalPerKey(got);
    expect(canonical(got)).toEqual(expected.get(q));
  });

  it('reads the built-in generator source as well (parallelism 2, streaming)', async () => {
    const run = await runProgram(
      await program(q),
      ['--events', String(EVENTS), '--seed', String(SEED)],
      2,
      'streaming',
    );
    let got = run.collected.result ?? [];
    if (q === 'q4') got = finalPerKey(got);
    expect(canonical(got)).toEqual(expected.get(q));
  });
});
