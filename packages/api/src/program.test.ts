import { describe, expect, it } from 'vitest';
import {
  defineProgram,
  OutputTag,
  Time,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type Program,
} from './index.js';
import { buildStreamGraph, validateStreamGraph } from './internal.js';
import { streamGraphToJson, type StreamGraphJson } from '@freshet/graph';

const wordCount = defineProgram((env, args) => {
  env.setParallelism(Number(args[0] ?? 2));
  const late = new OutputTag<{ word: string; n: number }>('late');
  const counts = env
    .fromElements('a b', 'b c')
    .flatMap<string>((line, out) => {
      for (const w of line.split(' ')) out.collect(w);
    })
    .map((word) => ({ word, n: 1 }))
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<{ word: string; n: number }>())
    .keyBy((r) => r.word)
    .window(TumblingEventTimeWindows.of(Time.seconds(5)))
    .sideOutputLateData(late)
    .reduce((a, b) => ({ word: a.word, n: a.n + b.n }));
  counts.collect('counts');
  counts.getSideOutput(late).print('late');
});

/** Runs `program` and returns the error it fails with. */
async function planError(program: Program): Promise<Error & { location?: string; nodeId?: number }> {
  try {
    await buildStreamGraph(program);
  } catch (error) {
    return error as Error & { location?: string; nodeId?: number };
  }
  throw new Error('expected the plan to fail');
}

describe('buildStreamGraph', () => {
  it('is deterministic: the same program and args give the same graph', async () => {
    const a = streamGraphToJson(await buildStreamGraph(wordCount, ['3']));
    const b = streamGraphToJson(await buildStreamGraph(wordCount, ['3']));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.nodes.map((n) => n.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(a.config.parallelism).toBe(3);
  });

  it('passes args and supports async programs', async () => {
    const graph = await buildStreamGraph(
      async (env, args) => {
        await Promise.resolve();
        env.fromCollection(args).print();
      },
      ['x', 'y'],
    );
    expect(graph.nodes[0]!.spec.source).toEqual({ type: 'elements', elements: ['x', 'y'] });
  });

  it('overrides win over the program settings, also while it runs', async () => {
    let seen = 0;
    const graph = await buildStreamGraph(
      (env) => {
        env.setParallelism(2).setMaxParallelism(64).setRuntimeMode('STREAMING').setJobName('mine');
        seen = env.getParallelism();
        env
          .fromElements(1)
          .map((x) => x)
          .setParallelism(5)
          .print();
      },
      [],
      { parallelism: 8, maxParallelism: 512, runtimeMode: 'BATCH', jobName: 'cli' },
    );
    expect(seen).toBe(8);
    expect(graph.config).toMatchObject({
      parallelism: 8,
      maxParallelism: 512,
      runtimeMode: 'BATCH',
      name: 'cli',
    });
    expect(graph.nodes[1]!.parallelism).toBe(5);
  });

  it('refuses invalid overrides', async () => {
    await expect(buildStreamGraph(() => undefined, [], { parallelism: 0 })).rejects.toThrow(
      'The parallelism override expects a positive integer (got 0)',
    );
  });

  it('propagates the program’s own exceptions unchanged', async () => {
    const boom = new TypeError('boom');
    await expect(
      buildStreamGraph(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it('seals the environment once the program returned', async () => {
    let later: (() => void) | undefined;
    await buildStreamGraph((env) => {
      const s = env.fromElements(1);
      s.print();
      later = () => s.map((x) => x);
    });
    expect(later).toThrow('The program changed its pipeline after it returned');
  });
});

describe('validation', () => {
  it('no sink', async () => {
    const error = await planError((env) => {
      env.fromElements(1).map((x) => x);
    });
    expect(error.name).toBe('ProgramDefinitionError');
    expect(error.message).toMatch(
      /^The program built no sink, so its results would go nowhere: end each pipeline with a sink such as print\(\)/,
    );
    expect(error.nodeId).toBe(2);
    expect(error.location).toMatch(/program\.test\.ts:\d+:\d+$/);
    expect(error.stack).toContain('program.test.ts');
  });

  it('no pipeline at all', async () => {
    expect((await planError(() => undefined)).message).toMatch(/^The program built no pipeline/);
  });

  it('duplicate uid, located at the second operator', async () => {
    const error = await planError((env) => {
      env
        .fromElements(1)
        .uid('src')
        .map((x) => x)
        .uid('src')
        .print();
    });
    expect(error.message).toBe(
      "Duplicate uid 'src' on 'Source: Collection' (node 1) and 'Map' (node 2): a uid identifies an operator's state across savepoints and must be unique within a job",
    );
    expect(error.nodeId).toBe(2);
    expect(error.location).toMatch(/program\.test\.ts:\d+:\d+$/);
  });

  it('BATCH mode with an unbounded source', async () => {
    const error = await planError((env) => {
      env.setRuntimeMode('BATCH');
      env.socketTextStream('localhost', 9000).print();
    });
    expect(error.message).toMatch(/^BATCH mode needs bounded sources: 'Source: Socket' is unbounded/);
    await expect(buildStreamGraph((env) => void env.fromGenerator((i) => i).print())).resolves.toBeDefined();
    await expect(
      buildStreamGraph((env) => void env.fromGenerator((i) => i).print(), [], { runtimeMode: 'BATCH' }),
    ).rejects.toThrow("BATCH mode needs bounded sources: 'Source: Generator' is unbounded");
  });

  it('a keyed operator with more instances than key groups', async () => {
    const error = await planError((env) => {
      env.setMaxParallelism(4);
      env
        .fromElements(1)
        .keyBy((x) => x)
        .reduce((a, b) => a + b)
        .setParallelism(8)
        .print();
    });
    expect(error.message).toBe(
      "'Keyed Reduce' (node 2) is keyed and runs 8 instances, but the job has only 4 key groups: lower its parallelism or raise maxParallelism (setMaxParallelism) to at least 8",
    );
    // A non-keyed operator may run wider than maxParallelism.
    await expect(
      buildStreamGraph(
        (env) =>
          void env
            .setMaxParallelism(4)
            .fromSequence(1, 2)
            .map((x) => x)
            .setParallelism(8)
            .print(),
      ),
    ).resolves.toBeDefined();
  });

  it('forward between different parallelisms', async () => {
    const error = await planError((env) => {
      env.setParallelism(2);
      env.fromElements(1).forward().print();
    });
    expect(error.message).toMatch(
      /^forward\(\) needs equal parallelism on both sides, but 'Source: Collection' \(node 1\) runs 1 and 'Sink: Print' \(node 2\) runs 2 instances/,
    );
  });

  it('two collect sinks with one id', async () => {
    const error = await planError((env) => {
      const s = env.fromElements(1);
      s.collect('out');
      s.collect('out');
    });
    expect(error.message).toMatch(/^collect\('out'\) is used by two sinks/);
  });

  it('validateStreamGraph checks plain graphs (edges that do not fit)', () => {
    const graph: StreamGraphJson = {
      config: {
        name: 'j',
        parallelism: 1,
        maxParallelism: 128,
        runtimeMode: 'STREAMING',
        autoWatermarkIntervalMs: 200,
        bufferTimeoutMs: 10,
      },
      nodes: [
        {
          id: 1,
          kind: 'source',
          name: 'S',
          chaining: 'HEAD',
          slotSharingGroup: 'default',
          inputs: 0,
          keyed: false,
          spec: {},
        },
        {
          id: 2,
          kind: 'sink',
          name: 'K',
          chaining: 'ALWAYS',
          slotSharingGroup: 'default',
          inputs: 1,
          keyed: false,
          spec: {},
        },
      ],
      edges: [{ source: 1, target: 2, inputIndex: 1 }],
    };
    expect(() => {
      validateStreamGraph(graph);
    }).toThrow("Edge 1 -> 2 feeds input 1 of 'K' (node 2), which has 1 input(s)");
    graph.edges = [];
    expect(() => {
      validateStreamGraph(graph);
    }).toThrow("'K' (node 2) has no input");
  });
});
