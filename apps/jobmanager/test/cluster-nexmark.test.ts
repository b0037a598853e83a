// Nexmark q5 and q8 at parallelism 4 on a JobManager and two TaskManager
// processes: the same multiset of records as the local mini-cluster and as
// the plain-loop reference computation.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NexmarkGenerator, type NexmarkEvent } from '@freshet/nexmark';
import { canonical, compile, runProgram } from '../../../examples/harness.js';
import { reference } from '../../../examples/nexmark/reference.js';
import { problems, startCluster, untilEnded, type TestCluster } from './fixtures/cluster.js';

const EVENTS = 50_000;
const SEED = 7;
const ARGS = ['--events', String(EVENTS), '--seed', String(SEED)];
const examples = fileURLToPath(new URL('../../../examples/nexmark/', import.meta.url));

// What the bundler puts first for CommonJS dependencies; the JobManager adds its own (as the CLI does).
const REQUIRE_BANNER =
  "import { createRequire as __freshetCreateRequire } from 'node:module';\nconst require = __freshetCreateRequire(import.meta.url);\n";

let c: TestCluster;
let events: NexmarkEvent[];

beforeAll(async () => {
  c = await startCluster();
  const gen = new NexmarkGenerator({ seed: SEED, events: EVENTS });
  events = [];
  while (gen.hasNext()) events.push(gen.next());
});
afterAll(() => c?.group.dispose());

describe.each(['q5', 'q8'])(`Nexmark %s on ${EVENTS} generated events`, (q) => {
  it('at parallelism 4 over both TaskManagers equals the local mini-cluster and the reference', async () => {
    // A program of several files goes up as its bundle, as `freshet run --jobmanager` sends it.
    const compiled = await compile(join(examples, `${q}.ts`));
    let code = await readFile(compiled.bundlePath, 'utf8');
    if (code.startsWith(REQUIRE_BANNER)) code = code.slice(REQUIRE_BANNER.length);
    const form = new FormData();
    form.append('file', new Blob([code]), `${q}.mjs`);
    const { artifact } = await c.client.artifacts.upload.mutate(form);
    const { jobId } = await c.client.jobs.submit.mutate({
      artifactId: artifact.id,
      args: ARGS,
      parallelism: 4,
      runtimeMode: 'STREAMING',
    });
    const local = runProgram(compiled, ARGS, 4, 'streaming');
    const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000, intervalMs: 100 });
    expect(job.status, `${job.failureCause ?? ''}\n${problems(c)}`).toBe('FINISHED');

    // Subtasks ran on both TaskManagers, every one of them FINISHED.
    const ids = new Set(job.subtasks.map((s) => s.taskManager?.id));
    expect(ids).toEqual(new Set(c.tms.map((t) => t.taskManagerId)));
    expect(job.subtasks.every((s) => s.state === 'FINISHED')).toBe(true);
    expect(Math.max(...job.subtasks.map((s) => s.subtaskIndex))).toBe(3);

    const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'result' });
    const cluster = collections[0];
    expect(cluster?.truncated).toBe(false);
    const got = canonical(cluster?.records ?? []);
    const expected = canonical(reference[q]!(events));
    expect(expected.length).toBeGreaterThan(10);
    expect(got).toEqual(canonical((await local).collected.result ?? []));
    expect(got).toEqual(expected);
  });
});
