// Issue 12 on a real cluster (a JobManager and two TaskManager processes): a BATCH rolling
// aggregation writes one record per key, the job's accumulators and its operators' user
// metrics reach `jobs.get` from both TaskManagers, final once the job is FINISHED, and the
// JobManager's and a TaskManager's Prometheus endpoints show system and user metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixture,
  problems,
  startCluster,
  submitFile,
  until,
  untilEnded,
  type TestCluster,
} from './fixtures/cluster.js';
import { adminHeaders } from '../src/testing.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster();
});
afterAll(() => c?.group.dispose());

const LINES = 2000;
const WORDS = ['stream', 'state', 'window', 'watermark', 'checkpoint', 'barrier', 'key'];

function expected(): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < LINES; i++)
    for (let k = 0; k < 1 + (i % 5); k++) {
      const w = WORDS[(i * 7 + k * 3) % WORDS.length]!;
      m.set(w, (m.get(w) ?? 0) + 1);
    }
  return m;
}

describe('BATCH results, accumulators and user metrics on a cluster', () => {
  it('word-stats at parallelism 4 over two TaskManagers', async () => {
    const jobId = await submitFile(c.client, fixture('word-stats.ts'), { parallelism: 4 });
    const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
    expect(job.status, problems(c)).toBe('FINISHED');
    expect(new Set(job.subtasks.map((s) => s.taskManager?.id)).size).toBe(2);

    const words = expected();
    const total = [...words.values()].reduce((a, b) => a + b, 0);
    const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'counts' });
    const counts = (collections[0]?.records ?? []) as { word: string; count: number; jobId: string }[];
    // One record per word: the rolling sum emitted only its final value.
    expect(counts).toHaveLength(words.size);
    expect(new Map(counts.map((r) => [r.word, r.count]))).toEqual(words);
    // The runtime context named the JobManager's job id.
    expect(new Set(counts.map((r) => r.jobId))).toEqual(new Set([jobId]));

    // Accumulators merged over the four tokenizer subtasks, final.
    expect(job.accumulators).toEqual({ lines: LINES, words: total });

    // User metrics per subtask, under the operator's group.
    const tokenizers = job.subtasks.filter((s) => (s.metrics?.user.length ?? 0) > 0);
    expect(tokenizers.map((s) => s.subtaskIndex).sort()).toEqual([0, 1, 2, 3]);
    let counted = 0;
    for (const s of tokenizers) {
      const byName = new Map(s.metrics!.user.map((m) => [[...m.scope, m.name].join('.'), m]));
      const w = byName.get('tokenize.words');
      expect(w?.type).toBe('counter');
      if (w?.type === 'counter') counted += w.value;
      expect(byName.get('tokenize.wordsPerSecond')?.type).toBe('meter');
    }
    expect(counted).toBe(total);
  });
});

describe('partitionCustom on a cluster', () => {
  it('records reach the subtask the partitioner picks, across TaskManager processes', async () => {
    const jobId = await submitFile(c.client, fixture('custom-partition.ts'), { parallelism: 4 });
    const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
    expect(job.status, problems(c)).toBe('FINISHED');
    expect(new Set(job.subtasks.map((s) => s.taskManager?.id)).size).toBe(2);
    expect(job.edges.map((e) => e.partitioning)).toContain('CUSTOM');
    const { collections } = await c.client.jobs.collected.query({ jobId, collectId: 'tagged' });
    const tagged = (collections[0]?.records ?? []) as { v: number; sub: number }[];
    expect(tagged.map((r) => r.v).sort((a, b) => a - b)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    // The fixture's partitioner over 4 subtasks: key = v mod 10, even keys on 0-1, odd on 2-3.
    for (const r of tagged) {
      const key = r.v % 10;
      expect(r.sub).toBe((key % 2) * 2 + (Math.floor(key / 2) % 2));
    }
    expect(new Set(tagged.map((r) => r.sub))).toEqual(new Set([0, 1, 2, 3]));
  });
});

describe('Prometheus endpoints', () => {
  it('GET /metrics on the JobManager and on a TaskManager started with --metrics-port', async () => {
    const tm = await c.group.startTaskManager({
      jobManagerUrl: c.jm.url,
      slots: 4,
      env: { FRESHET_TASKMANAGER_METRICS_PORT: '0' },
    });
    const line = await until(
      () => Promise.resolve(tm.logs.find((l) => typeof l.metricsPort === 'number')),
      (l) => l !== undefined,
      { what: 'the TaskManager to announce its metrics port' },
    );
    const tmMetrics = `http://127.0.0.1:${line!.metricsPort as number}/metrics`;
    // Parallelism 8 takes every slot (2 + 2 + 4), so the new TaskManager runs subtasks of the job.
    const jobId = await submitFile(c.client, fixture('slow-metrics.ts'), { parallelism: 8 });
    try {
      // Without a token the JobManager's endpoint answers 401, like every route but /healthz.
      expect((await fetch(`${c.jm.url}/metrics`)).status).toBe(401);
      const scrape = async (url: string): Promise<string> => {
        const res = await fetch(url, url.startsWith(c.jm.url) ? { headers: adminHeaders(c.jm) } : {});
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
        return res.text();
      };
      const seen = new RegExp(
        `^freshet_user_demo_seen\\{job_id="${jobId}",job_name="slow-metrics",vertex_id="[^"]+",vertex_name="[^"]*count[^"]*",subtask="\\d",operator="count"\\} [1-9]`,
        'm',
      );
      const jm = await until(
        () => scrape(`${c.jm.url}/metrics`),
        (t: string) => seen.test(t),
        {
          timeoutMs: 30_000,
          what: "the job's user metric on the JobManager",
        },
      );
      expect(jm).toMatch(new RegExp(`^freshet_subtask_records_out_total\\{job_id="${jobId}"`, 'm'));
      expect(jm).toMatch(/^freshet_process_cpu_seconds_total /m);
      const onTm = await until(
        () => scrape(tmMetrics),
        (t: string) => /^freshet_user_demo_seen\{/m.test(t),
        {
          timeoutMs: 30_000,
          what: "the job's user metric on the TaskManager",
        },
      );
      expect(onTm).toMatch(new RegExp(`job_id="${jobId}"`));
      expect(onTm).toMatch(/^freshet_nodejs_heap_size_used_bytes /m);
      expect((await fetch(tmMetrics.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await c.client.jobs.cancel.mutate({ jobId });
      await untilEnded(c.client, jobId);
    }
    // A job that ended leaves the JobManager's endpoint.
    const after = await (await fetch(`${c.jm.url}/metrics`, { headers: adminHeaders(c.jm) })).text();
    expect(after).not.toContain(jobId);
  });
});
