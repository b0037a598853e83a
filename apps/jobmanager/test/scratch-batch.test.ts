import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixture, startCluster, submitFile, untilEnded, type TestCluster } from './fixtures/cluster.js';

let c: TestCluster;
beforeAll(async () => {
  c = await startCluster();
});
afterAll(() => c?.group.dispose());

it('scratch', async () => {
  const jobId = await submitFile(c.client, fixture('word-stats.ts'), { parallelism: 4 });
  const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
  for (const tm of c.tms) for (const l of tm.logs) if ((l.level as number) >= 30) console.log('TM', JSON.stringify(l).slice(0, 600));
  for (const l of c.jm.logs) if ((l.level as number) >= 30) console.log('JM', JSON.stringify(l).slice(0, 600));
  console.log('JOB', JSON.stringify(job, (k, v) => (k === 'metrics' || k === 'jobGraph' ? undefined : v)));
  expect(job.status).toBe('FINISHED');
});
