import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, runProgram, type Compiled } from '../harness.js';
import { generatedLine, type TaggedWord } from './word-stats.js';

const LINES = 3000;
let program: Compiled;

beforeAll(async () => {
  program = await compile(join(import.meta.dirname, 'word-stats.ts'));
});

function expected(): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < LINES; i++) for (const w of generatedLine(i).split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

describe('word-stats: runtime context, user metrics and accumulators on the local mini-cluster', () => {
  it('runs at parallelism 2 in batch mode', async () => {
    const run = await runProgram(program, ['--lines', String(LINES)], 2, 'batch');
    const counts = (run.collected.counts ?? []) as TaggedWord[];
    const words = expected();
    const total = [...words.values()].reduce((a, b) => a + b, 0);

    // One record per word (BATCH), with the right count.
    expect(counts).toHaveLength(words.size);
    expect(new Map(counts.map((c) => [c.word, c.count]))).toEqual(words);

    // What the functions saw of their runtime context.
    for (const c of counts) {
      expect(c.readBy.jobId).toBe(run.jobId);
      expect(c.readBy.jobName).toBe('word-stats');
      expect(c.readBy.parallelism).toBe(2);
      expect(c.readBy.task).toBe(`tokenize (${c.readBy.subtask + 1}/2)#0`);
    }
    expect(run.jobId).toMatch(/^(local-)?[0-9a-f-]{36}$/);

    // Accumulators, merged over both subtasks.
    expect(run.accumulators).toEqual({ lines: LINES, words: total });

    // User metrics, per subtask of the tokenizer, under its operator group.
    const tokenizer = run.subtasks.filter((s) => s.user !== undefined);
    expect(tokenizer.map((s) => s.subtask).sort()).toEqual([0, 1]);
    let counted = 0;
    let histogramCount = 0;
    for (const s of tokenizer) {
      expect(s.vertexName).toBe('tokenize');
      const byName = new Map(s.user!.map((m) => [[...m.scope, m.name].join('.'), m]));
      const words = byName.get('tokenize.words');
      const meter = byName.get('tokenize.wordsPerSecond');
      const hist = byName.get('tokenize.line.words');
      const longest = byName.get('tokenize.longestLine');
      expect(words?.type).toBe('counter');
      expect(meter?.type).toBe('meter');
      expect(hist?.type).toBe('histogram');
      expect(longest).toEqual({ scope: ['tokenize'], name: 'longestLine', type: 'gauge', value: 5 });
      if (words?.type === 'counter') counted += words.value;
      if (meter?.type === 'meter') expect(meter.count).toBe(words?.type === 'counter' ? words.value : -1);
      if (hist?.type === 'histogram') {
        histogramCount += hist.count;
        expect(hist.min).toBe(1);
        expect(hist.max).toBe(5);
      }
      expect(s.accumulators?.lines).toMatchObject({ kind: 'sum' });
    }
    expect(counted).toBe(total);
    expect(histogramCount).toBe(LINES);
  });
});
