/**
 * The built CLI end to end: `freshet plan` from dist (the plan child runs
 * from dist too, without tsx). Build first:
 * `pnpm turbo run build --filter=@freshet/cli...`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { StreamGraphJson } from '@freshet/graph';
import { JobGraphSchema } from '@freshet/protocol';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'packages/cli/dist/bin.js');
const fixture = (name: string) => join(root, 'packages/planner/test/fixtures', name);

function freshet(...args: string[]) {
  if (!existsSync(bin))
    throw new Error(`${bin} is missing: run \`pnpm turbo run build --filter=@freshet/cli...\` first`);
  // An empty-ish environment: the CLI must not need anything from the developer's shell.
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
}

describe('freshet plan (built CLI)', () => {
  it('prints { streamGraph, jobGraph } with --json', () => {
    const run = freshet('plan', fixture('wordcount.ts'), '--parallelism', '2', '--json', '--', 'a b a');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { streamGraph: StreamGraphJson; jobGraph: unknown };
    const job = JobGraphSchema.parse(out.jobGraph);
    expect(out.streamGraph.config.parallelism).toBe(2);
    expect(job.parallelism).toBe(2);
    expect(job.planHash).toMatch(/^[0-9a-f]{64}$/);
    // source -> tokenizer chained; keyBy makes a HASH exchange into the reduce -> sink chain.
    expect(job.edges.map((e) => e.partitioning)).toContain('HASH');
    expect(job.vertices[0]!.isSource).toBe(true);
    expect(job.vertices.flatMap((v) => v.operators).length).toBe(out.streamGraph.nodes.length);

    const again = freshet('plan', fixture('wordcount.ts'), '--parallelism', '2', '--json', '--', 'a b a');
    expect((JSON.parse(again.stdout) as { jobGraph: unknown }).jobGraph).toEqual(out.jobGraph);
  });

  it('prints a readable plan', () => {
    const run = freshet('plan', fixture('side-output.ts'));
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Vertices \(\d+\)/);
    expect(run.stdout).toMatch(/FROM\s+TO\s+PARTITIONING/);
    expect(run.stdout).toContain('small');
  });

  it('exits 1 with file:line:column and a code frame on a syntax error', () => {
    const run = freshet('plan', fixture('syntax-error.ts'));
    expect(run.status).toBe(1);
    const shown = relative(root, fixture('syntax-error.ts'));
    expect(run.stderr).toContain(`${shown}:5:31: Expected ";" but found ")"\n`);
    expect(run.stderr).toContain(
      '> 5 |     .map((x: number) => x * 2))\n    |                               ^',
    );
    expect(run.stdout).toBe('');
  });

  it('exits 1 on a type error', () => {
    const run = freshet('plan', fixture('type-error.ts'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `${relative(root, fixture('type-error.ts'))}:4:9: Type 'number' is not assignable to type 'string'.`,
    );
  });

  it('reports a program that throws while planning, with its own file:line:column', () => {
    const run = freshet('plan', fixture('throws.ts'), '--', 'nope');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Program failed while planning: Error: expected 'ok', got 'nope'");
    expect(run.stderr).toContain(`${fixture('throws.ts')}:5:11`);
  });

  it('names an unreachable JobManager when run without --local', () => {
    // Port 1 is never a JobManager: the CLI must say where it tried, not crash.
    const run = freshet('run', fixture('wordcount.ts'), '--jobmanager', 'http://127.0.0.1:1', '--', 'a b');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Cannot reach the JobManager at http://127.0.0.1:1');
  });

  it('refuses --local together with --jobmanager', () => {
    const run = freshet('run', fixture('wordcount.ts'), '--local', '--jobmanager', 'http://127.0.0.1:1');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/either --local or --jobmanager, not both/);
  });

  it('has --help on plan and run', () => {
    expect(freshet('plan', '--help').stdout).toMatch(/--max-parallelism <n>/);
    expect(freshet('run', '--help').stdout).toMatch(/--slots <n>/);
  });
});

describe('freshet run --local (built CLI)', () => {
  it('runs a job to FINISHED and prints the collected records as JSON', () => {
    const run = freshet(
      'run',
      fixture('wordcount.ts'),
      '--local',
      '--parallelism',
      '2',
      '--slots',
      '2',
      '--json',
      '--',
      'a b a',
    );
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as {
      status: string;
      collected: Record<string, { word: string; count: number }[]>;
    };
    expect(out.status).toBe('FINISHED');
    const finals = new Map<string, number>();
    for (const c of out.collected.counts ?? [])
      finals.set(c.word, Math.max(finals.get(c.word) ?? 0, c.count));
    expect(Object.fromEntries(finals)).toEqual({ a: 2, b: 1 });
  });

  it("prints the user function's source-mapped stack and exits 1 when the job fails", () => {
    const run = freshet('run', fixture('fails-at-runtime.ts'), '--local');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/FAILED in \d+ ms/);
    expect(run.stderr).toContain("Job failed in 'Picky'");
    expect(run.stderr).toContain('Error: cannot handle 2');
    expect(run.stderr).toContain(`${fixture('fails-at-runtime.ts')}:7:26`);
  });
});
