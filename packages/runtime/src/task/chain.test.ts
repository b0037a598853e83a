// A chain's links: each ChainOutput with one target gets a collect compiled for that link, and
// the same chain runs unchanged (on the shared path) where code generation from strings is off.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RecordWriter } from '../network/record-writer.js';
import type { StreamOperator } from '../operator.js';
import { ChainOutput, OperatorInput1, OperatorInput2, WriterTarget, batchDelivery } from './chain.js';

type Seen = [string, unknown, number][];

function recordingOperator(seen: Seen): StreamOperator {
  return {
    processElement: (v: unknown, t: number) => seen.push(['in1', v, t]),
    processElement2: (v: unknown, t: number) => seen.push(['in2', v, t]),
    processWatermark: (w: number) => seen.push(['wm', w, w]),
  } as unknown as StreamOperator;
}

const noIdle = (): void => {};

describe('chain links', () => {
  it('a link with one target delivers every record in order and counts it, on input 1, input 2 and a writer', () => {
    const seen: Seen = [];
    const op = recordingOperator(seen);
    const emitted: [unknown, number][] = [];
    const writer = { emit: (v: unknown, t: number) => emitted.push([v, t]) } as unknown as RecordWriter;
    const outs = [
      new ChainOutput([new OperatorInput1(op)], new Map(), noIdle),
      new ChainOutput([new OperatorInput2(op)], new Map(), noIdle),
      new ChainOutput([new WriterTarget(writer)], new Map(), noIdle),
    ];
    for (let i = 0; i < 3; i++) for (const out of outs) out.collect({ i }, 100 + i);
    expect(seen).toEqual([
      ['in1', { i: 0 }, 100],
      ['in2', { i: 0 }, 100],
      ['in1', { i: 1 }, 101],
      ['in2', { i: 1 }, 101],
      ['in1', { i: 2 }, 102],
      ['in2', { i: 2 }, 102],
    ]);
    expect(emitted).toEqual([
      [{ i: 0 }, 100],
      [{ i: 1 }, 101],
      [{ i: 2 }, 102],
    ]);
    expect(outs.map((o) => o.count)).toEqual([3, 3, 3]);
    // A method taken off the output (as operators may keep it) still counts on its own output.
    const collect = outs[0]!.collect;
    collect('x', 7);
    expect(outs[0]!.count).toBe(4);
    expect(seen.at(-1)).toEqual(['in1', 'x', 7]);
  });

  it('a fan-out and side outputs reach every target', () => {
    const a: Seen = [];
    const b: Seen = [];
    const s: Seen = [];
    const out = new ChainOutput(
      [new OperatorInput1(recordingOperator(a)), new OperatorInput2(recordingOperator(b))],
      new Map([['late', [new OperatorInput1(recordingOperator(s))]]]),
      noIdle,
    );
    out.collect(1, 10);
    out.collectSide('late', 2, 20);
    out.collectSide('unknown', 3, 30);
    out.emitWatermark(50);
    expect(a).toEqual([
      ['in1', 1, 10],
      ['wm', 50, 50],
    ]);
    expect(b).toEqual([
      ['in2', 1, 10],
      ['wm', 50, 50],
    ]);
    expect(s).toEqual([
      ['in1', 2, 20],
      ['wm', 50, 50],
    ]);
    expect(out.count).toBe(1);
  });

  it('a batch reaches the head operator on the input it came in on, with its timestamps', () => {
    const seen: Seen = [];
    const op = recordingOperator(seen);
    batchDelivery(op, 0)(['a', 'b'], new Float64Array([1, 2]));
    batchDelivery(op, 1)(['c'], [3]);
    batchDelivery(op, 0)([], []);
    expect(seen).toEqual([
      ['in1', 'a', 1],
      ['in1', 'b', 2],
      ['in2', 'c', 3],
    ]);
  });

  it('with code generation from strings disallowed, the same job runs on the shared path with the same output', () => {
    const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
    const script = `
      import { runLocalJob } from ${JSON.stringify(here('../minicluster/mini-cluster.ts'))};
      import { fixtureJob } from ${JSON.stringify(here('../testing/fixture-graphs.ts'))};
      let codegen = true;
      try { new Function('return 1'); } catch { codegen = false; }
      const n = 3000;
      const r = await runLocalJob({ ...fixtureJob('fanOut', { n, p: 2 }), timeoutMs: 30000 });
      const even = r.collected.even.map((x) => x.v).sort((a, b) => a - b);
      const neg = r.collected.neg.map((x) => -x.v).sort((a, b) => a - b);
      console.log(JSON.stringify({
        codegen, status: r.status, error: r.error?.message,
        even: even.every((v, i) => v === i * 2) && even.length === n / 2,
        neg: neg.every((v, i) => v === i) && neg.length === n,
      }));
      process.exit(0);
    `;
    const out = execFileSync(
      process.execPath,
      [
        '--disallow-code-generation-from-strings',
        '--import',
        'tsx',
        '--conditions=@freshet/source',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: here('../..'), encoding: 'utf8', timeout: 60_000 },
    );
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toEqual({ codegen: false, status: 'FINISHED', even: true, neg: true });
  }, 90_000);
});
