import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultToleranceOverrides, parseCheckpointMode, parseRestartStrategy } from './fault-tolerance.js';
import { prepareJob } from './plan.js';

const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-ft-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The lines of the committed part files of the file sink in `out`. */
function committedLines(out: string): string[] {
  return readdirSync(out)
    .filter((f) => /^part-\d+-\d+\.jsonl$/.test(f))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
}

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

describe('freshet run --local (the built CLI)', () => {
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  beforeAll(() => {
    if (process.env.FRESHET_TEST_SKIP_BUILD === '1') return;
    const built = spawnSync(
      'pnpm',
      ['turbo', 'run', 'build', '--filter=@freshet/cli', '--output-logs=errors-only'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    if (built.status !== 0) throw new Error(`Building the CLI failed:\n${built.stdout}\n${built.stderr}`);
  });

  it('restarts a job whose slot worker dies from its latest checkpoint, with exactly the output of a clean run', async () => {
    const out = join(dir, 'dies-out');
    const marker = join(dir, 'died-once');
    const program = join(dir, 'dies.ts');
    // A keyed rolling sum: a lost or repeated record changes every later sum of its key. One
    // source subtask feeds the sums over a hash exchange, so each key's records come in one order.
    writeFileSync(
      program,
      `import { existsSync, writeFileSync } from 'node:fs';
import { defineProgram } from '@freshet/api';
export default defineProgram((env) => {
  env
    .fromSequence(0, 5999, { ratePerSecond: 3000 })
    .setParallelism(1)
    .map((x: number) => {
      if (x === 3500 && !existsSync(${JSON.stringify(marker)})) {
        writeFileSync(${JSON.stringify(marker)}, 'x');
        process.exit(3);
      }
      return { k: x % 7, v: x };
    })
    .setParallelism(1)
    .keyBy((r) => r.k)
    .reduce((a, b) => ({ k: a.k, v: a.v + b.v }))
    .writeAsJsonLines(${JSON.stringify(out)});
});
`,
    );
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'packages/cli/dist/bin.js'),
        'run',
        program,
        '--local',
        '-p',
        '2',
        '--checkpoint-interval',
        '200',
        '--restart-strategy',
        'fixed-delay:3:50',
      ],
      { cwd: repoRoot, timeout: 90_000, encoding: 'utf8' },
    );
    expect(existsSync(marker)).toBe(true);
    expect(stderr).toMatch(/Attempt 0 failed: .*\nRestarting in 50 ms from checkpoint \d+ \(attempt 1\)/);
    expect(stdout).toMatch(/FINISHED in \d+ ms, 1 restart, \d+ checkpoints/);
    const sums = new Map<number, number>();
    const expected: string[] = [];
    for (let x = 0; x < 6000; x++) {
      const v = (sums.get(x % 7) ?? 0) + x;
      sums.set(x % 7, v);
      expected.push(JSON.stringify({ k: x % 7, v }));
    }
    const committed = committedLines(out);
    expect(committed.sort()).toEqual(expected.sort());
  });

  it('re-runs only the failed stage of a BATCH job, with its partitions on disk (--partition-memory-mib 0)', async () => {
    const out = join(dir, 'staged-out');
    const marker = join(dir, 'staged-failed');
    const opened = join(dir, 'staged-stage1-opened');
    const program = join(dir, 'staged.ts');
    // Stage 1 (source -> map) writes blocking partitions; stage 2 (sum per key -> check -> file sink)
    // fails once at one key. Only stage 2's failed region may run again.
    writeFileSync(
      program,
      `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { defineProgram, type RuntimeContext } from '@freshet/api';
export default defineProgram((env) => {
  env
    .fromSequence(0, 9999)
    .map({
      open(ctx: RuntimeContext) {
        appendFileSync(${JSON.stringify(opened)}, ctx.subtaskIndex + '\\n');
      },
      map: (x: number) => ({ k: x % 7, v: x }),
    })
    .keyBy((r) => r.k)
    .sum('v')
    .map((r) => {
      if (r.k === 3 && !existsSync(${JSON.stringify(marker)})) {
        writeFileSync(${JSON.stringify(marker)}, 'x');
        throw new Error('stage 2 fails once');
      }
      return r;
    })
    .writeAsJsonLines(${JSON.stringify(out)});
});
`,
    );
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'packages/cli/dist/bin.js'),
        'run',
        program,
        '--local',
        '--mode',
        'batch',
        '-p',
        '2',
        '--partition-memory-mib',
        '0',
        '--restart-strategy',
        'fixed-delay:2:50',
      ],
      { cwd: repoRoot, timeout: 90_000, encoding: 'utf8' },
    );
    expect(existsSync(marker)).toBe(true);
    expect(stderr).toMatch(
      /Attempt 0 failed: .*stage 2 fails once\nRestarting region \d+ alone in 50 ms, reading its inputs again \(attempt 1\)/,
    );
    // A staged job takes no checkpoints.
    expect(stdout).toMatch(/FINISHED in \d+ ms, 1 restart\n/);
    // Stage 1 ran once per subtask.
    expect(readFileSync(opened, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['0', '1']);
    const expected = Array.from({ length: 7 }, (_, k) => {
      let v = 0;
      for (let x = k; x < 10_000; x += 7) v += x;
      return JSON.stringify({ k, v });
    });
    const committed = committedLines(out);
    expect(committed.sort()).toEqual(expected.sort());
  });

  it('-s starts from a retained checkpoint of an earlier run at another parallelism, with exactly the output of a clean run', async () => {
    const out = join(dir, 'resume-out');
    const checkpoints = join(dir, 'resume-checkpoints');
    const marker = join(dir, 'resume-died');
    const program = join(dir, 'resume.ts');
    // The sequence source follows the job's parallelism; each number is tagged with its key's running count.
    writeFileSync(
      program,
      `import { existsSync, writeFileSync } from 'node:fs';
import {
  defineProgram,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
class Counted implements KeyedProcessFunction<number, number, { x: number; k: number; n: number }> {
  private seen!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.seen = ctx.getState(new ValueStateDescriptor<number>('seen'));
  }
  processElement(x: number, ctx: KeyedProcessContext<number>, out: Collector<{ x: number; k: number; n: number }>) {
    const n = (this.seen.value() ?? 0) + 1;
    this.seen.update(n);
    out.collect({ x, k: ctx.getCurrentKey(), n });
  }
}
export default defineProgram((env) => {
  env
    .fromSequence(0, 5999, { ratePerSecond: 3000 })
    .uid('numbers')
    .map((x: number) => {
      if (x === 4500 && !existsSync(${JSON.stringify(marker)})) {
        writeFileSync(${JSON.stringify(marker)}, 'x');
        process.exit(3);
      }
      return x;
    })
    .uid('maybe-die')
    .keyBy((x) => x % 7)
    .process(new Counted())
    .uid('counted')
    .writeAsJsonLines(${JSON.stringify(out)})
    .setParallelism(1)
    .uid('output');
});
`,
    );
    const cli = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [join(repoRoot, 'packages/cli/dist/bin.js'), 'run', program, '--local', ...args],
        {
          cwd: repoRoot,
          timeout: 90_000,
          encoding: 'utf8',
        },
      );
    // The first run dies mid-way and may not restart: its checkpoints stay in --checkpoint-dir.
    await expect(
      cli(
        '-p',
        '2',
        '--checkpoint-interval',
        '200',
        '--checkpoint-dir',
        checkpoints,
        '--restart-strategy',
        'none',
      ),
    ).rejects.toMatchObject({ code: 1 });
    expect(existsSync(marker)).toBe(true);
    const [jobDir] = readdirSync(checkpoints);
    const latest = readdirSync(join(checkpoints, jobDir!))
      .filter((d) => /^chk-\d+$/.test(d) && existsSync(join(checkpoints, jobDir!, d, '_metadata')))
      .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
      .at(-1);
    expect(latest).toBeDefined();

    const { stdout, stderr } = await cli(
      '-p',
      '3',
      '--checkpoint-interval',
      '200',
      '-s',
      join(checkpoints, jobDir!, latest!),
    );
    expect(stderr).toContain(`Starting from checkpoint ${join(checkpoints, jobDir!, latest!)}`);
    expect(stdout).toMatch(/FINISHED in \d+ ms/);
    const records = committedLines(out).map((l) => JSON.parse(l) as { x: number; k: number; n: number });
    expect(records.map((r) => r.x).sort((a, b) => a - b)).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    for (let k = 0; k < 7; k++) {
      const ns = records
        .filter((r) => r.k === k)
        .map((r) => r.n)
        .sort((a, b) => a - b);
      expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => i + 1));
    }

    // A path that holds no savepoint is refused by name, before anything runs.
    await expect(cli('-s', dir)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`Cannot start from '${dir}'`),
    });
  });
});
