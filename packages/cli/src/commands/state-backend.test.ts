// The disk state backend from the command line (the flag's parsing:
// checkpoints.test.ts): the built CLI runs a job whose keyed state (300,000
// keys × 1,000 bytes, about 300 MB) is three times the heap limit of its
// process (`--max-old-space-size=96`): on the heap backend it runs out of
// memory, on the disk backend it finishes — with its final checkpoint —
// and every stored value reads back intact.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(repoRoot, 'packages/cli/dist/bin.js');
const PROGRAM = join(repoRoot, 'apps/jobmanager/test/fixtures/large-keyed-state.ts');
const KEYS = 300_000;
const BYTES_PER_KEY = 1000;
const HEAP_MIB = 96;

function runLocal(backend: 'heap' | 'disk') {
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MIB}`,
      CLI,
      'run',
      '--local',
      PROGRAM,
      '--state-backend',
      backend,
      '--',
      String(KEYS),
      String(BYTES_PER_KEY),
    ],
    { cwd: repoRoot, encoding: 'utf8', timeout: 50_000 },
  );
  console.log(`${backend}: exit ${r.status} in ${Date.now() - started} ms`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('freshet run --state-backend', () => {
  it(`keyed state of ${(KEYS * BYTES_PER_KEY) / 1e6} MB in a ${HEAP_MIB} MiB heap: out of memory on the heap, exact on disk`, () => {
    const heap = runLocal('heap');
    expect(heap.status).not.toBe(0);
    expect(heap.output).toMatch(/heap out of memory/);
    const disk = runLocal('disk');
    expect(disk.status, disk.output.slice(-2000)).toBe(0);
    expect(disk.output).toContain(`verified ${KEYS} of ${KEYS} keys`);
    expect(disk.output).toMatch(/FINISHED in \d+ ms, 1 checkpoint/);
  }, 90_000);

  it('counts words in BATCH on the disk backend (rolling reduce on disk, input as it comes) exactly as on the heap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'freshet-disk-batch-'));
    try {
      const words: string[] = [];
      for (let i = 0; i < 20_000; i++) words.push(`w${(i * 7919) % 3001}`);
      const input = join(dir, 'words.txt');
      writeFileSync(input, `${words.join(' ')}\n`);
      const counts = (backend: string): Map<string, number> => {
        const out = join(dir, `out-${backend}`);
        const r = spawnSync(
          process.execPath,
          [
            CLI,
            'run',
            '--local',
            join(repoRoot, 'examples/wordcount/wordcount.ts'),
            '--mode',
            'batch',
            '-p',
            '2',
            '--state-backend',
            backend,
            '--',
            '--input',
            input,
            '--output',
            out,
          ],
          { cwd: repoRoot, encoding: 'utf8', timeout: 50_000 },
        );
        expect(r.status, `${r.stdout}${r.stderr}`.slice(-2000)).toBe(0);
        const lines = readdirSync(out)
          .filter((f) => f.endsWith('.jsonl'))
          .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n'))
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { word: string; count: number });
        // BATCH emits each word's final count once.
        expect(new Set(lines.map((l) => l.word)).size).toBe(lines.length);
        return new Map(lines.map((l) => [l.word, l.count]));
      };
      const expected = new Map<string, number>();
      for (const w of words) expected.set(w, (expected.get(w) ?? 0) + 1);
      expect(counts('disk')).toEqual(expected);
      expect(counts('heap')).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
