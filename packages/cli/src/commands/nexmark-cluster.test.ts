// `freshet nexmark run --jobmanager URL` (the built CLI, as a user runs it)
// on a JobManager and two TaskManager processes: the same output file as the
// local run; a job that fails exits 1 with its cause.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ProcessGroup, type JobManagerProcess } from '@freshet/jobmanager/testing';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(repoRoot, 'packages/cli/dist/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-nexmark-cluster-'));
const group = new ProcessGroup();
let jm: JobManagerProcess;

/** Runs the built CLI; resolves with its exit code and output (killed after 60 s). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FRESHET_TOKEN: jm.adminToken },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sortedLines = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .sort();

beforeAll(async () => {
  await ensureBuilt();
  if (process.env.FRESHET_TEST_SKIP_BUILD !== '1') {
    const built = spawnSync(
      'pnpm',
      ['turbo', 'run', 'build', '--filter=@freshet/cli', '--output-logs=errors-only'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    if (built.status !== 0) throw new Error(`Building the CLI failed:\n${built.stdout}\n${built.stderr}`);
  }
  const db = await group.createDatabase();
  jm = await group.startJobManager(db);
  // The jobs read their events and write their output in `dir`: the only host directory their sandbox may use.
  await Promise.all([
    group.startTaskManager({ jobManagerUrl: jm.url, slots: 1, args: ['--task-files', dir] }),
    group.startTaskManager({ jobManagerUrl: jm.url, slots: 1, args: ['--task-files', dir] }),
  ]);
});
afterAll(async () => {
  await group.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('freshet nexmark run --jobmanager', () => {
  it('writes the same q5 result as the local run, at parallelism 2 over two TaskManagers', async () => {
    const common = ['nexmark', 'run', 'q5', '--events', '20000', '--seed', '7', '--parallelism', '2'];
    const localOut = join(dir, 'q5-local.jsonl');
    const clusterOut = join(dir, 'q5-cluster.jsonl');
    const [local, cluster] = await Promise.all([
      cli([...common, '--output', localOut]),
      cli([...common, '--output', clusterOut, '--jobmanager', jm.url]),
    ]);
    expect(local.code, local.stderr).toBe(0);
    expect(cluster.code, cluster.stderr).toBe(0);
    expect(cluster.stderr).toMatch(/q5 batch p=2 on http:\/\/127\.0\.0\.1:\d+: job \S+ FINISHED/);
    const expected = sortedLines(localOut);
    expect(expected.length).toBeGreaterThan(10);
    expect(sortedLines(clusterOut)).toEqual(expected);
  });

  it('exits 1 with the cause when the job fails', async () => {
    // The TaskManagers read the events file where they run: a missing one fails the source.
    const missing = join(dir, 'no-such-events.jsonl');
    const r = await cli([
      'nexmark',
      'run',
      'q0',
      '--events-file',
      missing,
      '--output',
      join(dir, 'q0.jsonl'),
      '--jobmanager',
      jm.url,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/q0 \(job \S+\) ended FAILED: .*no-such-events\.jsonl/s);
  });
});
