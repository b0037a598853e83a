// Issue 12 §6: a failing program reads the same with `freshet run --local` and against a real
// cluster (a JobManager and a TaskManager process): a user function that throws, a program
// without a default export, and a program that does not compile. The built CLI runs both ways;
// the texts are compared after taking out what differs by nature (job ids, durations, the
// runtime's own stack frames, which live in other files on a TaskManager).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ProcessGroup, type JobManagerProcess } from '@freshet/jobmanager/testing';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(repoRoot, 'packages/cli/dist/bin.js');
const execFileAsync = promisify(execFile);

/** Runs the built CLI; resolves with its exit code and output whether it failed or not. */
async function cli(
  token: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd: repoRoot,
      timeout: 90_000,
      encoding: 'utf8',
      env: { ...process.env, FRESHET_TOKEN: token, NO_COLOR: '1' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const PROGRAMS: Record<string, string> = {
  'throws.ts': `import { defineProgram } from '@freshet/api';

export default defineProgram((env) => {
  env
    .fromCollection([1, 2, 3, 4])
    .map((x: number) => {
      if (x === 3) throw new Error(\`cannot handle \${x}\`);
      return x * 2;
    })
    .name('check')
    .collect('out');
});
`,
  'no-default.ts': `import { defineProgram } from '@freshet/api';

export const program = defineProgram((env) => {
  env.fromCollection([1, 2]).collect('out');
});
`,
  'throws-while-planning.ts': `import { defineProgram } from '@freshet/api';

export default defineProgram((env, args) => {
  if (args.length === 0) throw new Error('this program needs an input file');
  env.fromCollection(args).collect('out');
});
`,
  'type-error.ts': `import { defineProgram } from '@freshet/api';

export default defineProgram((env) => {
  env.fromCollection([1, 2]).map((x: number) => x.toUpperCase()).collect('out');
});
`,
};

/** The user-facing text with ids, durations and the runtime's own stack frames taken out. */
function normalize(text: string, dir: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s+at /.test(line) || line.includes(dir))
    .join('\n')
    .replaceAll(dir, '<dir>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/\b\d+ ms\b/g, '<n> ms')
    .trim();
}

/** Output from the job's final status line (`Job 'name' FAILED in …`) on; empty when there is none. */
function fromStatusLine(stdout: string): string {
  const at = stdout.search(/^Job '.*' (FINISHED|FAILED|CANCELED) in /m);
  return at < 0 ? '' : stdout.slice(at);
}

describe('failure messages, local and cluster', () => {
  const group = new ProcessGroup();
  let jm: JobManagerProcess;
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'freshet-failure-messages-'));
    for (const [name, source] of Object.entries(PROGRAMS)) writeFileSync(join(dir, name), source);
    jm = await group.startJobManager(await group.createDatabase());
    await group.startTaskManager({ jobManagerUrl: jm.url, slots: 2 });
  });
  afterAll(async () => {
    await group.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(Object.keys(PROGRAMS))('%s fails with the same text locally and on the cluster', async (name) => {
    const file = join(dir, name);
    const local = await cli('', 'run', '--local', file);
    const cluster = await cli(jm.adminToken, 'run', file, '--jobmanager', jm.url);
    expect(local.code).not.toBe(0);
    expect(cluster.code).toBe(local.code);
    expect(normalize(cluster.stderr, dir)).toBe(normalize(local.stderr, dir));
    // The cluster's progress lines come first; from the job's status line on, both print the same.
    expect(normalize(fromStatusLine(cluster.stdout), dir)).toBe(normalize(fromStatusLine(local.stdout), dir));
  });
});
