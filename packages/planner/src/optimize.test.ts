import { describe, expect, it } from 'vitest';
import { defineProgram } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import { JobGraphSchema } from '@freshet/protocol';
import { optimize } from './optimize.js';

describe('optimize', () => {
  it('returns a JobGraph the protocol schema accepts, with the given plan hash', async () => {
    const program = defineProgram((env) => {
      env.setParallelism(2);
      env
        .fromSequence(1, 10)
        .map((i) => i * 2)
        .print();
    });
    const job = optimize(await buildStreamGraph(program), 'abc');
    expect(job.vertices.map((v) => v.name)).toEqual(['Source: Sequence -> Map -> Sink: Print']);
    expect(job.planHash).toBe('abc');
    expect(() => JobGraphSchema.parse(job)).not.toThrow();
  });
});
