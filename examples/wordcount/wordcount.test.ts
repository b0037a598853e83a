import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, runProgram, type Compiled } from '../harness.js';

const WORDS = [
  'stream',
  'batch',
  'window',
  'watermark',
  'state',
  'timer',
  "flink's",
  'freshet',
  'Key',
  'key',
];
let dir: string;
let program: Compiled;
const lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-wordcount-'));
  let x = 17;
  for (let i = 0; i < 2000; i++) {
    const n = 1 + (i % 7);
    const ws: string[] = [];
    for (let k = 0; k < n; k++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      ws.push(WORDS[x % WORDS.length]!);
    }
    lines.push(ws.join(i % 3 === 0 ? ', ' : ' ') + (i % 5 === 0 ? '!' : ''));
  }
  program = await compile(join(import.meta.dirname, 'wordcount.ts'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectedCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines)
    for (const w of l.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

function finalCounts(records: unknown[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records as { word: string; count: number }[])
    m.set(r.word, Math.max(m.get(r.word) ?? 0, r.count));
  return m;
}

describe('WordCount', () => {
  it.each([1, 2])('counts the words of a file in batch mode (parallelism %i)', async (p) => {
    const file = join(dir, 'words.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await runProgram(program, ['--input', file], p, 'batch');
    const records = run.collected.counts ?? [];
    expect(finalCounts(records)).toEqual(expectedCounts());
    // BATCH emits the final count only: exactly one record per word (Flink's batch semantics).
    expect(records).toHaveLength(expectedCounts().size);
  });

  it('writes exactly one line per word into --output in batch mode', async () => {
    const file = join(dir, 'words.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const out = join(dir, 'out-batch');
    await runProgram(program, ['--input', file, '--output', out], 2, 'batch');
    const written = readdirSync(out)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) =>
        readFileSync(join(out, f), 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      )
      .map((l) => JSON.parse(l) as { word: string; count: number });
    expect(written).toHaveLength(expectedCounts().size);
    expect(new Map(written.map((r) => [r.word, r.count]))).toEqual(expectedCounts());
  });

  it('counts the words read from a TCP socket in streaming mode', async () => {
    const server: Server = createServer((socket) => {
      // Write in a few chunks that split lines, then close: the source ends with the connection.
      const text = `${lines.join('\n')}\n`;
      const third = Math.floor(text.length / 3);
      socket.write(text.slice(0, third));
      setTimeout(() => {
        socket.write(text.slice(third, 2 * third));
        setTimeout(() => socket.end(text.slice(2 * third)), 20);
      }, 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const run = await runProgram(program, ['--socket', `127.0.0.1:${port}`], 2, 'streaming');
      const records = run.collected.counts ?? [];
      expect(finalCounts(records)).toEqual(expectedCounts());
      // Streaming emits a running count per occurrence.
      expect(records.length).toBe([...expectedCounts().values()].reduce((a, b) => a + b, 0));
    } finally {
      server.close();
    }
  });
});
