import { Session } from 'node:inspector/promises';
import { describe, expect, it } from 'vitest';
import {
  flameTreeOf,
  parseTraceEvents,
  profilesOfTraceEvents,
  type CpuProfile,
  type FlameNode,
} from './flame-tree.js';

const frame = (id: number, functionName: string, children: number[] = [], lineNumber = 0) => ({
  id,
  callFrame: { functionName, url: 'file:///job.mjs', lineNumber },
  children,
});

/** (root) → main → { parse, work → hash }, sampled 1 ms apart. */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)' }, children: [2] },
    frame(2, 'main', [3, 4]),
    frame(3, 'parse', [], 9),
    frame(4, 'work', [5]),
    frame(5, '', [], 41),
  ],
  // main once, parse twice, work once, the anonymous function four times.
  samples: [2, 3, 3, 4, 5, 5, 5, 5],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

/** A tree without the numbers' float noise, for equality. */
function shape(n: FlameNode): unknown {
  return { name: n.name, self: n.self, total: n.total, children: n.children.map(shape) };
}

describe('flameTreeOf', () => {
  it('folds samples into frames with self and total time, largest first', () => {
    const tree = flameTreeOf('TaskManager', [{ name: 'slot 0', profile: PROFILE }]);
    expect(shape(tree)).toEqual({
      name: 'TaskManager',
      self: 0,
      total: 8,
      children: [
        {
          name: 'slot 0',
          self: 0,
          total: 8,
          children: [
            {
              name: 'main',
              self: 1,
              total: 8,
              children: [
                {
                  name: 'work',
                  self: 1,
                  total: 5,
                  children: [{ name: '(anonymous)', self: 4, total: 4, children: [] }],
                },
                { name: 'parse', self: 2, total: 2, children: [] },
              ],
            },
          ],
        },
      ],
    });
    const parse = tree.children[0]!.children[0]!.children[1]!;
    expect(parse).toMatchObject({ url: 'file:///job.mjs', line: 10 });
  });

  it('merges equal paths of several profiles and keeps each profile its own root child', () => {
    const tree = flameTreeOf('p', [
      { name: 'a', profile: PROFILE },
      { name: 'a', profile: PROFILE },
    ]);
    expect(tree.total).toBe(16);
    expect(tree.children.map((c) => c.total)).toEqual([8, 8]);
  });

  it('bounds the tree: small frames and frames past the node budget fold into their parent', () => {
    const pruned = flameTreeOf('p', [{ name: 't', profile: PROFILE }], { minShare: 0.3 });
    // parse (2 of 8 ms) is under 30 %: its time is main's own now.
    const main = pruned.children[0]!.children[0]!;
    expect(main.children.map((c) => c.name)).toEqual(['work']);
    expect(main.self).toBe(3);
    expect(main.total).toBe(8);
    const tiny = flameTreeOf('p', [{ name: 't', profile: PROFILE }], { maxNodes: 3 });
    const count = (n: FlameNode): number => 1 + n.children.reduce((s, c) => s + count(c), 0);
    expect(count(tiny)).toBe(3);
    expect(tiny.total).toBe(8);
    const shallow = flameTreeOf('p', [{ name: 't', profile: PROFILE }], { maxDepth: 1 });
    expect(shallow.children[0]!.children[0]).toMatchObject({ name: 'main', self: 8, children: [] });
  });

  it('draws a real V8 profile: the busy function is in it', async () => {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    function spinForTheProfiler(): number {
      let x = 0;
      const end = Date.now() + 200;
      while (Date.now() < end) x += Math.sqrt(x + 1);
      return x;
    }
    spinForTheProfiler();
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const tree = flameTreeOf('test', [{ name: 'main', profile: profile as CpuProfile }]);
    const find = (n: FlameNode): FlameNode | undefined =>
      n.name === 'spinForTheProfiler' ? n : n.children.map(find).find((f) => f !== undefined);
    const spin = find(tree);
    expect(spin).toBeDefined();
    expect(spin!.total).toBeGreaterThan(100);
    expect(spin!.total).toBeLessThanOrEqual(tree.total);
  });
});

describe('trace events', () => {
  const chunk = (id: string, nodes: unknown[], samples: number[], timeDeltas: number[]) => ({
    name: 'ProfileChunk',
    pid: 7,
    tid: 99,
    id,
    args: { data: { cpuProfile: { nodes, samples }, timeDeltas } },
  });
  const events = [
    { name: 'Profile', pid: 7, tid: 7, id: '0x1', args: { data: { startTime: 0 } } },
    { name: 'Profile', pid: 7, tid: 8, id: '0x2', args: { data: { startTime: 0 } } },
    chunk(
      '0x1',
      [
        { id: 1, callFrame: { functionName: '(root)' } },
        { id: 2, callFrame: { functionName: 'poll' }, parent: 1 },
      ],
      [2],
      [0],
    ),
    chunk(
      '0x2',
      [
        { id: 1, callFrame: { functionName: '(root)' } },
        { id: 2, callFrame: { functionName: 'emit' }, parent: 1 },
      ],
      [2, 2],
      [0, 500],
    ),
    // A later chunk adds nodes and samples to the same profile.
    chunk('0x2', [{ id: 3, callFrame: { functionName: 'keyBy' }, parent: 2 }], [3], [500]),
  ];

  it('reads the profiles of each thread from the chunks, nodes linked by parent', () => {
    const profiles = profilesOfTraceEvents(events);
    expect(profiles.map((p) => p.name)).toEqual(['main thread', 'worker thread 1']);
    const tree = flameTreeOf('job', profiles);
    const worker = tree.children.find((c) => c.name === 'worker thread 1')!;
    expect(shape(worker)).toEqual({
      name: 'worker thread 1',
      self: 0,
      total: 1.5,
      children: [
        {
          // Each sample lasts until the next one (the last as long as the one before it): 2 × 0.5 ms.
          name: 'emit',
          self: 1,
          total: 1.5,
          children: [{ name: 'keyBy', self: 0.5, total: 0.5, children: [] }],
        },
      ],
    });
  });

  it('parses the file Node is still writing, and a slice of it appended later', () => {
    const text = `{"traceEvents":[${events.map((e) => JSON.stringify(e) + ',').join('')}`;
    expect(parseTraceEvents(text)).toEqual(events);
    expect(parseTraceEvents(`${text.slice(0, -1)}]}`)).toEqual(events);
    const cut = text.indexOf(JSON.stringify(events[2]));
    expect(parseTraceEvents(text.slice(cut - 1))).toEqual(events.slice(2));
    expect(parseTraceEvents('')).toEqual([]);
  });
});
