import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from './index.js';
import { buildStreamGraph } from './internal.js';
import type { StreamGraph } from '@freshet/graph';

const source = (graph: StreamGraph) => graph.nodes[0]!;

describe('StreamExecutionEnvironment settings', () => {
  it('has Flink-like defaults', async () => {
    const graph = await buildStreamGraph((env) => void env.fromElements(1).print());
    expect(graph.config).toEqual({
      name: 'Freshet Job',
      parallelism: 1,
      maxParallelism: 128,
      runtimeMode: 'STREAMING',
      autoWatermarkIntervalMs: 200,
      bufferTimeoutMs: 10,
    });
  });

  it('takes the program settings into the job config', async () => {
    const graph = await buildStreamGraph((env) => {
      env
        .setParallelism(4)
        .setMaxParallelism(256)
        .setRuntimeMode('BATCH')
        .setBufferTimeout(5)
        .setJobName('wc');
      env.getConfig().setAutoWatermarkInterval(50);
      env.fromElements(1).print();
    });
    expect(graph.config).toEqual({
      name: 'wc',
      parallelism: 4,
      maxParallelism: 256,
      runtimeMode: 'BATCH',
      autoWatermarkIntervalMs: 50,
      bufferTimeoutMs: 5,
    });
  });

  it('takes the state backend into the job config, and an override wins over the program', async () => {
    const program = (env: StreamExecutionEnvironment) => {
      env.setStateBackend('disk');
      env.fromElements(1).print();
    };
    const graph = await buildStreamGraph(program);
    expect(graph.config.stateBackend).toBe('disk');
    expect(
      new StreamExecutionEnvironment({ stateBackend: 'heap' }).setStateBackend('disk').getStateBackend(),
    ).toBe('heap');
    // The default stays out of the config, so heap jobs plan (and hash) as before.
    const heap = await buildStreamGraph((env) => void env.setStateBackend('heap').fromElements(1).print());
    expect('stateBackend' in heap.config).toBe(false);
    const env = new StreamExecutionEnvironment();
    expect(() => env.setStateBackend('rocksdb' as 'disk')).toThrow(
      "setStateBackend expects 'heap' or 'disk' (got 'rocksdb')",
    );
    expect(() => new StreamExecutionEnvironment({ stateBackend: 'ram' as 'heap' })).toThrow(
      "The stateBackend override expects 'heap' or 'disk' (got 'ram')",
    );
  });

  it('execute(name) only names the job', async () => {
    const graph = await buildStreamGraph(async (env) => {
      env.fromElements(1).print();
      await env.execute('named');
    });
    expect(graph.config.name).toBe('named');
  });

  it('rejects invalid settings with messages that say what is expected', () => {
    const env = new StreamExecutionEnvironment();
    expect(() => env.setParallelism(0)).toThrow('setParallelism expects a positive integer (got 0)');
    expect(() => env.setParallelism(1.5)).toThrow('setParallelism expects a positive integer (got 1.5)');
    expect(() => env.setMaxParallelism(40000)).toThrow('setMaxParallelism expects at most 32768 (got 40000)');
    expect(() => env.setRuntimeMode('batch' as 'BATCH')).toThrow(
      "setRuntimeMode expects 'STREAMING' or 'BATCH' (got 'batch')",
    );
    expect(() => env.setBufferTimeout(-1)).toThrow(
      'setBufferTimeout expects a non-negative integer (got -1)',
    );
    expect(() => env.getConfig().setAutoWatermarkInterval(-5)).toThrow(
      'setAutoWatermarkInterval expects a non-negative integer',
    );
    expect(() => env.setJobName('')).toThrow("setJobName expects a non-empty string (got '')");
  });

  it('errors are ProgramDefinitionErrors pointing at the calling line of this file', () => {
    const env = new StreamExecutionEnvironment();
    try {
      env.setParallelism(-1);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).name).toBe('ProgramDefinitionError');
      expect((error as { location?: string }).location).toMatch(/environment\.test\.ts:\d+:\d+$/);
    }
  });
});

describe('sources', () => {
  it('fromElements: a bounded, non-parallel collection source', async () => {
    const graph = await buildStreamGraph((env) => void env.fromElements('a', 'b').print());
    expect(source(graph)).toEqual({
      id: 1,
      kind: 'source',
      name: 'Source: Collection',
      parallelism: 1,
      chaining: 'HEAD',
      slotSharingGroup: 'default',
      inputs: 0,
      keyed: false,
      bounded: true,
      spec: { source: { type: 'elements', elements: ['a', 'b'] } },
      fns: {},
    });
  });

  it('fromCollection takes any iterable, and may be empty', async () => {
    const graph = await buildStreamGraph((env) => {
      env.fromCollection(new Set([1, 2])).print();
      env.fromCollection([]).print();
    });
    expect(graph.nodes[0]!.spec.source).toEqual({ type: 'elements', elements: [1, 2] });
    expect(graph.nodes[2]!.spec.source).toEqual({ type: 'elements', elements: [] });
  });

  it('fromElements refuses nothing and non-JSON data', () => {
    const env = new StreamExecutionEnvironment();
    expect(() => env.fromElements()).toThrow('fromElements expects at least one element');
    expect(() => env.fromElements(10n)).toThrow(/plain data that can be written as JSON/);
    expect(() => env.fromCollection(5 as unknown as number[])).toThrow(
      'fromCollection expects an array or another iterable (got 5)',
    );
  });

  it('fromSequence: bounded and parallel, with an optional rate', async () => {
    const graph = await buildStreamGraph(
      (env) => void env.fromSequence(1, 100, { ratePerSecond: 10 }).print(),
    );
    const node = source(graph);
    expect(node.name).toBe('Source: Sequence');
    expect(node.parallelism).toBeUndefined();
    expect(node.bounded).toBe(true);
    expect(node.spec.source).toEqual({ type: 'sequence', from: 1, to: 100, ratePerSecond: 10 });
    const env = new StreamExecutionEnvironment();
    expect(() => env.fromSequence(5, 1)).toThrow('fromSequence expects integers from <= to (got 5, 1)');
    expect(() => env.fromSequence(1, 5, { ratePerSecond: 0 })).toThrow(
      'fromSequence expects ratePerSecond > 0 (got 0)',
    );
  });

  it('fromGenerator: the element function in fns, bounded only with a count', async () => {
    const gen = (i: number) => ({ i });
    const graph = await buildStreamGraph((env) => {
      env.fromGenerator(gen, { count: 10 }).print();
      env.fromGenerator(gen, { ratePerSecond: 5 }).print();
    });
    expect(graph.nodes[0]).toMatchObject({
      name: 'Source: Generator',
      bounded: true,
      spec: { source: { type: 'generator', count: 10 } },
    });
    expect(graph.nodes[0]!.fns.generator).toBe(gen);
    expect(graph.nodes[2]).toMatchObject({
      bounded: false,
      spec: { source: { type: 'generator', ratePerSecond: 5 } },
    });
    expect(graph.nodes[2]!.spec.source).not.toHaveProperty('count');
    expect(() => new StreamExecutionEnvironment().fromGenerator(5 as never)).toThrow(
      'fromGenerator expects a function (index) => element (got 5)',
    );
  });

  it('readTextFile and socketTextStream', async () => {
    const graph = await buildStreamGraph((env) => {
      env.readTextFile('/tmp/in.txt').print();
      env.socketTextStream('localhost', 9999).print();
      env.socketTextStream('localhost', 9999, ';').print();
    });
    expect(graph.nodes[0]).toMatchObject({
      name: 'Source: Text File',
      bounded: true,
      parallelism: 1,
      spec: { source: { type: 'textFile', path: '/tmp/in.txt' } },
    });
    expect(graph.nodes[2]).toMatchObject({
      name: 'Source: Socket',
      bounded: false,
      parallelism: 1,
      spec: { source: { type: 'socket', host: 'localhost', port: 9999, delimiter: '\n' } },
    });
    expect(graph.nodes[4]!.spec.source).toMatchObject({ delimiter: ';' });
    expect(() => new StreamExecutionEnvironment().socketTextStream('h', 0)).toThrow(
      'socketTextStream expects a port between 1 and 65535 (got 0)',
    );
  });

  it('nexmark: bounded with an event count, unbounded without', async () => {
    const graph = await buildStreamGraph((env) => {
      env.nexmark({ events: 1000, seed: 7, ratePerSecond: 100 }).print();
      env.nexmark({ seed: 1, config: { hotAuctionRatio: 2 } }).discard();
    });
    expect(graph.nodes[0]).toMatchObject({
      name: 'Source: Nexmark',
      bounded: true,
      spec: { source: { type: 'nexmark', events: 1000, seed: 7, ratePerSecond: 100 } },
    });
    expect(graph.nodes[2]).toMatchObject({
      bounded: false,
      spec: { source: { type: 'nexmark', seed: 1, config: { hotAuctionRatio: 2 } } },
    });
    expect(() => new StreamExecutionEnvironment().nexmark({ seed: 1.5 })).toThrow(
      'nexmark expects an integer seed (got 1.5)',
    );
  });

  it('non-parallel sources refuse a parallelism above 1', () => {
    const env = new StreamExecutionEnvironment();
    expect(() => env.fromElements(1).setParallelism(2)).toThrow(
      "'Source: Collection' is not a parallel operator: setParallelism expects 1 here (got 2)",
    );
    expect(() => env.fromElements(1).setParallelism(1)).not.toThrow();
  });
});
