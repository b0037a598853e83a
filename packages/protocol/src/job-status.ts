import { z } from 'zod';

/** Every job status, as in Flink's JobStatus. */
export const JOB_STATUSES = [
  'CREATED',
  'RUNNING',
  'FAILING',
  'FAILED',
  'CANCELLING',
  'CANCELED',
  'FINISHED',
  'RESTARTING',
] as const;

/** A job's status. */
export const JobStatusSchema = z.enum(JOB_STATUSES);
/** @see {@link JobStatusSchema} */
export type JobStatus = z.infer<typeof JobStatusSchema>;
