/**
 * Window operators on the disk state backend: the same input gives the same
 * output as on the heap backend (whose event-time windows take the aligned
 * path), and a snapshot of either backend restores into the other.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TimeWindow } from '@freshet/api';
import type { StateBackendKind, WindowAssignerSpec } from '@freshet/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_WATERMARK } from '../operator.js';
import { OperatorHarness, testNode } from '../testing/harness.js';

type Ev = { k: string; v: number };

const dir = mkdtempSync(join(tmpdir(), 'freshet-window-disk-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Scenario {
  name: string;
  assigner: WindowAssignerSpec;
  function: 'reduce' | 'aggregate' | 'process';
  allowedLatenessMs?: number;
}

const scenarios: Scenario[] = [
  {
    name: 'sliding reduce (q5)',
    assigner: { type: 'sliding', time: 'event', sizeMs: 100, slideMs: 20, offsetMs: 0 },
    function: 'reduce',
  },
  {
    name: 'sliding aggregate, size a multiple of the slide',
    assigner: { type: 'sliding', time: 'event', sizeMs: 90, slideMs: 30, offsetMs: 5 },
    function: 'aggregate',
  },
  {
    name: 'tumbling process with windowState and lateness',
    assigner: { type: 'tumbling', time: 'event', sizeMs: 50, offsetMs: 0 },
    function: 'process',
    allowedLatenessMs: 30,
  },
  {
    name: 'session process',
    assigner: { type: 'session', time: 'event', gapMs: 15 },
    function: 'process',
  },
];

function windowNode(s: Scenario) {
  return testNode({
    kind: 'window',
    name: 'win',
    keyed: true,
    spec: {
      window: {
        assigner: s.assigner,
        keyed: true,
        function: s.function,
        withProcess: false,
        allowedLatenessMs: s.allowedLatenessMs ?? 0,
        lateTag: 'late',
        customTrigger: false,
      },
    },
    fns: {
      key: (e: never) => (e as Ev).k,
      reduce: (a: Ev, b: Ev): Ev => ({ k: a.k, v: a.v + b.v }),
      aggregate: {
        createAccumulator: () => ({ n: 0, max: Number.NEGATIVE_INFINITY }),
        add: (e: Ev, acc: { n: number; max: number }) => ({ n: acc.n + 1, max: Math.max(acc.max, e.v) }),
        getResult: (acc: { n: number; max: number }) => `${acc.n} max ${acc.max}`,
        // Changes its first argument, as Flink allows.
        merge: (a: { n: number; max: number }, b: { n: number; max: number }) => {
          a.n += b.n;
          a.max = Math.max(a.max, b.max);
          return a;
        },
      },
      windowProcess: {
        process(
          key: string,
          ctx: {
            window(): TimeWindow;
            windowState(): { getState(d: { name: string }): { value(): unknown; update(v: unknown): void } };
          },
          els: readonly Ev[],
          out: { collect(v: unknown): void },
        ) {
          // Per-window state (not on merging windows): how often this window fired (late firings count up).
          let n = 1;
          if (s.assigner.type !== 'session') {
            const fired = ctx.windowState().getState({ name: 'fired' });
            n = ((fired.value() as number | undefined) ?? 0) + 1;
            fired.update(n);
          }
          const w = ctx.window();
          out.collect(`${key} [${w.start},${w.end}) #${n} ${els.map((e) => e.v).join(',')}`);
        },
      },
    },
  });
}

function harness(s: Scenario, backend: StateBackendKind) {
  return OperatorHarness.of(windowNode(s), {
    maxParallelism: 16,
    job: { stateBackend: backend },
  });
}

/** 4000 events over 200 keys, out of order by up to 300 ms (some late), with a watermark every 50 events. */
function events(): [Ev, number][] {
  const out: [Ev, number][] = [];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 4000; i++)
    out.push([{ k: `k${Math.floor(rnd() * 200)}`, v: i }, i - Math.floor(rnd() * 300)]);
  return out;
}

function feed(h: OperatorHarness, input: [Ev, number][], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const [e, t] = input[i]!;
    h.processElement(e, t);
    if (i % 50 === 49) h.processWatermark(i - 60);
  }
}

function emitted(h: OperatorHarness): unknown[] {
  return [...h.output.records.map((r) => [r.value, r.timestamp]), ...(h.output.side.get('late') ?? [])];
}

describe.each(scenarios)('$name on the disk backend', (s) => {
  it('emits what the heap backend emits', () => {
    const input = events();
    const heap = harness(s, 'heap').open();
    const disk = harness(s, 'disk').open();
    feed(heap, input, 0, input.length);
    feed(disk, input, 0, input.length);
    heap.processWatermark(MAX_WATERMARK);
    disk.processWatermark(MAX_WATERMARK);
    expect(emitted(heap).length).toBeGreaterThan(100);
    expect(heap.output.side.get('late')?.length ?? 0).toBeGreaterThan(0);
    expect(emitted(disk)).toEqual(emitted(heap));
    disk.close();
    heap.close();
  });

  it('restores a heap snapshot on disk and a disk snapshot on the heap', () => {
    const input = events();
    const whole = harness(s, 'heap').open();
    feed(whole, input, 0, input.length);
    whole.processWatermark(MAX_WATERMARK);

    const first = harness(s, 'heap').open();
    feed(first, input, 0, 1500);
    const second = harness(s, 'disk').open([first.snapshot()]);
    feed(second, input, 1500, 3000);
    const third = harness(s, 'heap').open([second.snapshot()]);
    feed(third, input, 3000, input.length);
    third.processWatermark(MAX_WATERMARK);
    // A restored operator fires a window's keys in key-group order, not arrival order: compare as sets.
    const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
    expect(sorted([...emitted(first), ...emitted(second), ...emitted(third)])).toEqual(
      sorted(emitted(whole)),
    );
    second.close();
    first.close();
    third.close();
    whole.close();
  });
});

describe('the disk backend store directory', () => {
  it('is removed when the operator closes', () => {
    const s = scenarios[0]!;
    const h = OperatorHarness.of(windowNode(s), {
      maxParallelism: 16,
      job: { stateBackend: 'disk' },
      localStateDir: dir,
    }).open();
    feed(h, events(), 0, 200);
    expect(readdirSync(dir).filter((n) => n.startsWith('freshet-state-'))).toHaveLength(1);
    h.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});
