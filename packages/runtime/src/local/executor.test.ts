import { describe, expect, it } from 'vitest';
import { runLocalJob } from './executor.js';
import { fixtureJob } from './fixtures/graphs.js';

describe('runLocalJob', () => {
  it('runs a keyed job across worker threads', async () => {
    const job = fixtureJob('keyedSum', { n: 2000, p: 2 });
    const r = await runLocalJob({ ...job, timeoutMs: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    expect(r.collected.sums).toHaveLength(2000);
  });
});
