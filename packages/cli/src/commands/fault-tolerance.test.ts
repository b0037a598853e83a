import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { faultToleranceOverrides, parseCheckpointMode, parseRestartStrategy } from './fault-tolerance.js';
import { prepareJob } from './plan.js';

const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-ft-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('--restart-strategy', () => {
  it('parses every strategy', () => {
    expect(parseRestartStrategy('none')).toEqual({ type: 'none' });
    expect(parseRestartStrategy('fixed-delay:3:1000')).toEqual({
      type: 'fixed-delay',
      attempts: 3,
      delayMs: 1000,
    });
    expect(parseRestartStrategy('exponential-delay')).toMatchObject({
      type: 'exponential-delay',
      initialBackoffMs: 1000,
    });
    expect(parseRestartStrategy('exponential-delay:50:2000:2')).toMatchObject({
      initialBackoffMs: 50,
      maxBackoffMs: 2000,
      backoffMultiplier: 2,
      jitterFactor: 0.1,
    });
    expect(parseRestartStrategy('failure-rate:3:60000:500')).toEqual({
      type: 'failure-rate',
      maxFailuresPerInterval: 3,
      intervalMs: 60_000,
      delayMs: 500,
    });
  });

  it('says what is wrong and shows the syntax', () => {
    expect(() => parseRestartStrategy('sometimes')).toThrow(InvalidArgumentError);
    expect(() => parseRestartStrategy('sometimes')).toThrow(
      /unknown restart strategy 'sometimes'; syntax: none \| fixed-delay/,
    );
    expect(() => parseRestartStrategy('fixed-delay:3')).toThrow(
      "'fixed-delay:3' has 1 parameter(s) for fixed-delay",
    );
    expect(() => parseRestartStrategy('fixed-delay:x:10')).toThrow(
      "ATTEMPTS must be a non-negative integer (got 'x')",
    );
    expect(() => parseRestartStrategy('exponential-delay:100:10')).toThrow(
      'MAX_MS 10 is below INITIAL_MS 100',
    );
    expect(() => parseCheckpointMode('twice')).toThrow('expected exactly-once or at-least-once');
    expect(parseCheckpointMode('at-least-once')).toBe('AT_LEAST_ONCE');
  });

  it('become plan overrides', () => {
    expect(faultToleranceOverrides({})).toEqual({});
    expect(
      faultToleranceOverrides({
        checkpointInterval: 0,
        checkpointMode: 'AT_LEAST_ONCE',
        restartStrategy: { type: 'none' },
      }),
    ).toEqual({ checkpointing: { intervalMs: 0, mode: 'AT_LEAST_ONCE' }, restartStrategy: { type: 'none' } });
  });
});

describe('freshet plan/run with fault-tolerance flags', () => {
  it("puts the flags into the JobGraph over the program's own settings", async () => {
    const program = join(dir, 'job.ts');
    writeFileSync(
      program,
      `import { defineProgram, RestartStrategies } from '@freshet/api';
export default defineProgram((env) => {
  env.enableCheckpointing(5000);
  env.setRestartStrategy(RestartStrategies.noRestart());
  env.fromSequence(1, 10).writeAsJsonLines(${JSON.stringify(join(dir, 'out'))});
});
`,
    );
    const own = await prepareJob(program, [], {});
    expect(own.jobGraph.checkpointing?.intervalMs).toBe(5000);
    expect(own.jobGraph.restartStrategy).toEqual({ type: 'none' });
    const job = await prepareJob(program, [], {
      checkpointInterval: 250,
      restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 10 },
    });
    expect(job.overrides).toEqual({
      checkpointing: { intervalMs: 250 },
      restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 10 },
    });
    expect(job.jobGraph.checkpointing).toMatchObject({ intervalMs: 250, mode: 'EXACTLY_ONCE' });
    expect(job.jobGraph.restartStrategy).toEqual({ type: 'fixed-delay', attempts: 2, delayMs: 10 });
    expect(job.jobGraph.planHash).not.toBe(own.jobGraph.planHash);
    const off = await prepareJob(program, [], { checkpointInterval: 0 });
    expect(off.jobGraph.checkpointing).toBeUndefined();
  });
});
