import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ProgramDefinitionError } from '@freshet/api';
import { InvalidProgramError } from '@freshet/errors';
import { compileProgram } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';
import { optimize } from './optimize.js';
import { PlanError, planInSandbox } from './sandbox.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../test/fixtures');
const cacheDir = mkdtempSync(join(tmpdir(), 'freshet-planner-sandbox-'));
afterAll(() => {
  rmSync(cacheDir, { recursive: true, force: true });
});

async function bundle(name: string): Promise<string> {
  const result = await compileProgram({ path: join(fixtures, name) }, { cacheDir, typecheck: false });
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'));
  return result.bundlePath;
}

async function planError(promise: Promise<unknown>): Promise<PlanError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).name).toBe('PlanError');
  return err as PlanError;
}

describe('planInSandbox', () => {
  it('is deterministic: same bundle and args give the same StreamGraph, JobGraph and plan hash in two children', async () => {
    const path = await bundle('wordcount.ts');
    const [a, b] = await Promise.all([
      planInSandbox(path, ['a b', 'b c'], { parallelism: 3 }),
      planInSandbox(path, ['a b', 'b c'], { parallelism: 3 }),
    ]);
    expect(a.planHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.planHash).toBe(a.planHash);
    expect(b.graph).toEqual(a.graph);
    expect(a.graph.config.parallelism).toBe(3);
    expect(optimize(b.graph, b.planHash)).toEqual(optimize(a.graph, a.planHash));
    const other = await planInSandbox(path, ['x'], { parallelism: 3 });
    expect(other.planHash).not.toBe(a.planHash);
  });

  it('answers 20 concurrent plans, none taken for a crash (the reply may arrive after the exit)', async () => {
    const path = await bundle('wordcount.ts');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => planInSandbox(path, [`w${i}`])),
    );
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
    expect(failures).toEqual([]);
  }, 120_000);

  it('reports the program exception with its source-mapped stack', async () => {
    const err = await planError(planInSandbox(await bundle('throws.ts'), ['nope']));
    expect(err.reason).toBe('exception');
    expect(err.message).toMatch(/^Program failed while planning: Error: expected 'ok', got 'nope'/);
    expect(err.message).toContain(`${join(fixtures, 'throws.ts')}:5:11`);
    expect(err.message).toContain(`${join(fixtures, 'throws.ts')}:10:3`);
    expect(err.programError?.message).toBe("expected 'ok', got 'nope'");
  });

  it("rebuilds the program's ProgramDefinitionError from the child, with its location", async () => {
    const err = await planError(planInSandbox(await bundle('bad-parallelism.ts')));
    expect(err).toBeInstanceOf(PlanError);
    expect(err).toBeInstanceOf(InvalidProgramError);
    expect(err.code).toBe('INVALID_PROGRAM');
    expect(err.reason).toBe('exception');
    expect(err.cause).toBeInstanceOf(ProgramDefinitionError);
    const cause = err.cause as ProgramDefinitionError;
    expect(cause.code).toBe('INVALID_PROGRAM');
    expect(cause.message).toMatch(/^setParallelism expects/);
    expect(cause.location).toBe(`${join(fixtures, 'bad-parallelism.ts')}:4:7`);
  });

  it('stops a program that loops forever, and the caller lives on', async () => {
    const started = Date.now();
    const err = await planError(planInSandbox(await bundle('loop.ts'), [], {}, { timeoutMs: 1500 }));
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe('Program did not finish planning within 1500 ms (infinite loop?)');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('stops a program that allocates without bound', async () => {
    const err = await planError(planInSandbox(await bundle('alloc.ts'), [], {}, { maxOldSpaceMiB: 96 }));
    expect(err.reason).toBe('memory');
    expect(err.message).toBe('Program exceeded the 96 MiB memory limit while planning');
  });

  it('gives the program an empty environment (no DATABASE_URL)', async () => {
    process.env.DATABASE_URL = 'postgres://user:secret@db/freshet';
    try {
      const { graph } = await planInSandbox(await bundle('env-probe.ts'));
      expect(graph.config.name).toBe('env:none');
      const source = graph.nodes[0]!.spec.source;
      const visible = source?.type === 'elements' ? source.elements : [];
      expect(visible[0]).toBe('keys:');
      // Only what Node itself adds for the IPC channel, and the working directory bubblewrap sets (PWD=/tmp).
      expect(visible.slice(1).filter((k) => !String(k).startsWith('NODE_CHANNEL_') && k !== 'PWD')).toEqual(
        [],
      );
      expect(visible).not.toContain('DATABASE_URL');
      expect(visible).not.toContain('PATH');
      expect(visible).not.toContain('HOME');
    } finally {
      delete process.env.DATABASE_URL;
    }
  });

  it('reports a missing bundle', async () => {
    const err = await planError(planInSandbox(join(cacheDir, 'missing.mjs')));
    expect(err.message).toMatch(/does not exist/);
  });
});
