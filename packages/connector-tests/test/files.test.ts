/**
 * FileSource and FileSink through the whole engine: a program compiled by
 * the planner (importing @freshet/connectors as a provided module), planned
 * in the sandbox and run on the local mini-cluster at parallelism 2.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { compileProgram, optimize, planInSandbox } from '@freshet/planner';
import { runLocalJob } from '@freshet/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-files-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function walk(root: string, at = root): string[] {
  return readdirSync(at, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(root, join(at, e.name)) : [relative(root, join(at, e.name))],
  );
}

describe('files through the local mini-cluster', () => {
  it('reads CSV files of a directory tree and writes event-time hourly buckets of committed part files', async () => {
    const input = join(dir, 'in');
    mkdirSync(join(input, '2024', 'may'), { recursive: true });
    const rows: string[] = [];
    const expected: { id: number; at: number; item: string; paid: boolean }[] = [];
    for (let i = 0; i < 300; i++) {
      const at = Date.UTC(2024, 4, 1, 10 + (i % 3), i % 60, 0);
      const paid = i % 4 !== 0;
      const item = i % 7 === 0 ? `"box, large"` : `item ${i}`;
      rows.push(`${i},${new Date(at).toISOString()},${item},${paid ? 'yes' : 'no'}`);
      if (paid) expected.push({ id: i, at, item: i % 7 === 0 ? 'box, large' : `item ${i}`, paid });
    }
    writeFileSync(join(input, 'a.csv'), `id,at,item,paid\n${rows.slice(0, 150).join('\n')}\n`);
    writeFileSync(join(input, '2024', 'may', 'b.csv'), `id,at,item,paid\n${rows.slice(150).join('\n')}\n`);
    writeFileSync(join(input, 'notes.txt'), 'not matched by the glob\n');
    const output = join(dir, 'out');

    const compiled = await compileProgram({
      path: join(import.meta.dirname, 'fixtures', 'csv-to-buckets.ts'),
    });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const args = [input, output];
    const plan = await planInSandbox(compiled.bundlePath, args, { parallelism: 2 });
    const r = await runLocalJob({
      program: { bundlePath: compiled.bundlePath, args, parallelism: 2 },
      jobGraph: optimize(plan.graph, plan.planHash),
      slots: 2,
      timeoutMs: 60_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');

    const files = walk(output).sort();
    // Only committed part files, in one directory per event-time hour.
    expect(files.every((f) => /^dt=2024-05-01\/hour=1[0-2]\/part-[01]-\d+\.jsonl$/.test(f))).toBe(true);
    expect(new Set(files.map((f) => f.split('/part-')[0]))).toEqual(
      new Set(['dt=2024-05-01/hour=10', 'dt=2024-05-01/hour=11', 'dt=2024-05-01/hour=12']),
    );
    const written = files.flatMap((f) =>
      readFileSync(join(output, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ file: f, row: JSON.parse(l) as { id: number; at: number } })),
    );
    for (const w of written)
      expect(w.file.startsWith(`dt=2024-05-01/hour=${new Date(w.row.at).getUTCHours()}/`)).toBe(true);
    expect(written.map((w) => w.row).sort((a, b) => a.id - b.id)).toEqual(expected);
    expect(r.metrics.subtasks.find((s) => s.vertexName.startsWith('orders'))?.connector).toMatchObject({
      recordsRead: expect.any(Number),
    });
  });
});
