import { describe, expect, it } from 'vitest';
import { jobHref, parseLogLine } from './log-lines';

const AT = Date.parse('2026-12-01T10:00:00.000Z');

describe('parseLogLine', () => {
  it('reads the job, vertex, subtask and TaskManager a JSON record names', () => {
    const e = parseLogLine(
      JSON.stringify({
        level: 40,
        time: '2026-12-01T10:00:01.000Z',
        msg: 'Subtask v2 #1 FAILED: boom',
        jobId: 'job-123456789',
        vertexId: 'v2',
        subtask: 1,
        taskManagerId: 'tm-abcdef',
      }),
      AT,
    );
    expect(e).toMatchObject({
      level: 'warn',
      message: 'Subtask v2 #1 FAILED: boom',
      jobId: 'job-123456789',
      vertexId: 'v2',
      subtask: 1,
      taskManagerId: 'tm-abcdef',
    });
    expect(jobHref(e)).toBe('/jobs/job-123456789?vertex=v2&subtask=1');
  });

  it('links a job-only record to the job, and a record without a job to nothing', () => {
    const job = parseLogLine(JSON.stringify({ level: 30, msg: 'Job RUNNING', jobId: 'j 1' }), AT);
    expect(job.vertexId).toBeUndefined();
    expect(jobHref(job)).toBe('/jobs/j%201');
    // A vertex without a job cannot be linked: there is no page of a vertex alone.
    const orphan = parseLogLine(JSON.stringify({ level: 30, msg: 'x', vertexId: 'v1', subtask: 0 }), AT);
    expect(orphan.vertexId).toBeUndefined();
    expect(jobHref(orphan)).toBeUndefined();
  });

  it('takes the older field names and ignores subtask values that are no index', () => {
    const e = parseLogLine(JSON.stringify({ msg: 'm', jobId: 'j', vertex: 'v3', subtaskIndex: '2' }), AT);
    expect([e.vertexId, e.subtask]).toEqual(['v3', 2]);
    const bad = parseLogLine(JSON.stringify({ msg: 'm', jobId: 'j', vertexId: 'v3', subtask: -1 }), AT);
    expect(bad.subtask).toBeUndefined();
    expect(jobHref(bad)).toBe('/jobs/j?vertex=v3');
  });

  it('shows plain text (and JSON that is no record) as it is, at the time it was read', () => {
    for (const text of ['plain words', '[1,2]', '42', 'null']) {
      const e = parseLogLine(text, AT);
      expect(e.message).toBe(text);
      expect(e.jobId).toBeUndefined();
      expect(e.level).toBe('');
    }
  });
});
