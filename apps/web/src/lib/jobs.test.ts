import { describe, expect, it } from 'vitest';
import { JOB_STATUSES } from '@freshet/protocol';
import { ACTIVE_JOB_STATUSES, TERMINAL_JOB_STATUSES, taskProgress } from './jobs';

describe('the overview job tables', () => {
  it('split every job status into not yet ended and ended, each once', () => {
    expect([...TERMINAL_JOB_STATUSES].sort()).toEqual(['CANCELED', 'FAILED', 'FINISHED']);
    expect(ACTIVE_JOB_STATUSES).toEqual(['CREATED', 'RUNNING', 'RESTARTING', 'FAILING', 'CANCELLING']);
    expect([...ACTIVE_JOB_STATUSES, ...TERMINAL_JOB_STATUSES].sort()).toEqual([...JOB_STATUSES].sort());
  });

  it('count running, finished and all subtasks of a job', () => {
    expect(taskProgress({ RUNNING: 3, FINISHED: 2, DEPLOYING: 1, CANCELED: 0 })).toEqual({
      running: 3,
      finished: 2,
      total: 6,
    });
    expect(taskProgress({})).toEqual({ running: 0, finished: 0, total: 0 });
  });
});
