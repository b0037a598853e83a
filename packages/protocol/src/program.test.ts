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
    expect(
      planOverridesOf({ checkpointing: { intervalMs: 100 }, restartStrategy: { type: 'none' } }),
    ).toEqual({ checkpointing: { intervalMs: 100 }, restartStrategy: { type: 'none' } });
    expect(planOverridesOf({})).toEqual({});
    expect(planOverridesOf({ stateBackend: 'disk' })).toEqual({ stateBackend: 'disk' });
  });

  it('validates the same limits wherever the overrides travel', () => {
    expect(PlanOverridesSchema.safeParse({ parallelism: 0 }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ parallelism: 4097 }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ maxParallelism: 32_769 }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ runtimeMode: 'MICRO_BATCH' }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ stateBackend: 'rocksdb' }).success).toBe(false);
    expect(PlanOverridesSchema.parse({ stateBackend: 'disk' })).toEqual({ stateBackend: 'disk' });
    expect(ProgramInvocationSchema.parse({ args: [], runtimeMode: 'STREAMING' })).toEqual({
      args: [],
      runtimeMode: 'STREAMING',
    });
    expect(DeploymentSchema.shape.program).toBe(ProgramInvocationSchema);
  });

  it('accepts checkpoint settings (interval 0 disables) and validates restart strategies', () => {
    expect(PlanOverridesSchema.parse({ checkpointing: { intervalMs: 0 } })).toEqual({
      checkpointing: { intervalMs: 0 },
    });
    expect(PlanOverridesSchema.safeParse({ checkpointing: { intervalMs: -1 } }).success).toBe(false);
    expect(PlanOverridesSchema.safeParse({ checkpointing: { mode: 'EXACTLY_TWICE' } }).success).toBe(false);
    expect(
      PlanOverridesSchema.safeParse({ restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 100 } })
        .success,
    ).toBe(true);
    expect(
      PlanOverridesSchema.safeParse({ restartStrategy: { type: 'fixed-delay', attempts: 3 } }).success,
    ).toBe(false);
    expect(PlanOverridesSchema.safeParse({ restartStrategy: { type: 'sometimes' } }).success).toBe(false);
  });
});
