import { describe, expect, it } from 'vitest';
import { DeploymentSchema } from './control/deploy.js';
import { planOverridesOf, PlanOverridesSchema, ProgramInvocationSchema } from './program.js';

describe('plan overrides', () => {
  it('keeps only the overrides that are given', () => {
    const input = { artifactId: 'a', args: ['x'], parallelism: 2, maxParallelism: undefined, name: 'job' };
    expect(planOverridesOf(input)).toEqual({ parallelism: 2 });
    expect(Object.keys(planOverridesOf({ runtimeMode: 'BATCH', maxParallelism: 64 }))).toEqual([
      'maxParallelism',
      'runtimeMode',
    ]);
    expect(planOverridesOf({})).toEqual({});
  });

  it('validates the same limits wherever the overrides travel', () => {
    expect(PlanOverridesSchema.safeParse({ parallelism: 0 }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ parallelism: 4097 }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ maxParallelism: 32_769 }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ runtimeMode: 'MICRO_BATCH' }).success).toBe(false);
    expect(ProgramInvocationSchema.parse({ args: [], runtimeMode: 'STREAMING' })).toEqual({
      args: [],
      runtimeMode: 'STREAMING',
    });
    expect(DeploymentSchema.shape.program).toBe(ProgramInvocationSchema);
  });
});
