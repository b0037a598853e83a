import { describe, expect, it } from 'vitest';
import { RestartStrategies, type StreamExecutionEnvironment } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import { JobGraphSchema } from '@freshet/protocol';
import { optimize } from './optimize.js';
import { renderFaultTolerance, renderJobGraph, renderUidWarning } from './render.js';

const plan = async (program: (env: StreamExecutionEnvironment) => void) =>
  optimize(await buildStreamGraph(program), 'abcdef0123456789');

describe('renderJobGraph: fault tolerance', () => {
  it('says exactly-once, no periodic checkpoints and no restart for a default job', async () => {
    const job = await plan((env) => void env.fromSequence(1, 3).print());
    expect(renderFaultTolerance(job)).toBe(
      'Fault tolerance: no periodic checkpoints (one final checkpoint at the end of bounded input); restart strategy: no restart; exactly-once',
    );
  });

  it('names the checkpoint settings and the restart strategy, and the exponential default with checkpointing', async () => {
    const job = await plan((env) => {
      env.enableCheckpointing(1000);
      env.fromSequence(1, 3).print();
    });
    expect(() => JobGraphSchema.parse(job)).not.toThrow();
    expect(renderFaultTolerance(job)).toContain('checkpoints every 1000 ms (EXACTLY_ONCE, timeout 600000 ms');
    expect(renderFaultTolerance(job)).toContain(
      'restart strategy: exponential-delay (1000 ms to 60000 ms, x1.5',
    );
    const fixed = await plan((env) => {
      env.setRestartStrategy(RestartStrategies.fixedDelay(3, 500));
      env.fromSequence(1, 3).print();
    });
    expect(renderFaultTolerance(fixed)).toContain('restart strategy: fixed-delay (3 attempts, 500 ms apart)');
  });

  it('says at-most-once for a job reading a socket, on the job line and on the vertex', async () => {
    const job = await plan((env) => void env.socketTextStream('localhost', 9999).print());
    expect(job.vertices[0]!.replayable).toBe(false);
    const text = renderJobGraph(job);
    expect(text).toContain('at-most-once for Source: Socket -> Sink: Print (cannot replay after a restore)');
    expect(text).toContain('(source, unbounded, at-most-once: cannot replay)');
  });
});

describe('renderJobGraph: uids for savepoints', () => {
  it('warns about stateful operators without a uid, naming their generated uids, and shows the uids set', async () => {
    const job = await plan((env) => {
      env
        .fromSequence(1, 3)
        .uid('numbers')
        .map((x) => x + 1)
        .keyBy((x) => x % 2)
        .reduce((a, b) => a + b)
        .print();
    });
    const reduce = job.vertices.flatMap((v) => v.operators).find((o) => o.kind === 'reduce')!;
    const warning = renderUidWarning(job)!;
    expect(warning).toContain(`(auto-${reduce.nodeId})`);
    expect(warning).not.toContain('numbers');
    expect(warning).not.toMatch(/Map \(auto/);
    const text = renderJobGraph(job);
    expect(text).toContain(warning);
    expect(text).toContain("uid 'numbers'");
    const named = await plan((env) => {
      env
        .fromSequence(1, 3)
        .uid('numbers')
        .keyBy((x) => x % 2)
        .reduce((a, b) => a + b)
        .uid('sums')
        .print()
        .uid('out');
    });
    expect(renderUidWarning(named)).toBeUndefined();
  });
});
