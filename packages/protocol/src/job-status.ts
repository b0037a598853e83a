import { z } from 'zod';

/** Every job status, as in Flink's JobStatus, in the order a job goes through them. */
export const JOB_STATUSES = [
  'CREATED',
  'RUNNING',
  'RESTARTING',
  'FAILING',
  'CANCELLING',
  'FINISHED',
  'FAILED',
  'CANCELED',
] as const;

/** A job's status. */
export const JobStatusSchema = z.enum(JOB_STATUSES);
/** @see {@link JobStatusSchema} */
export type JobStatus = z.infer<typeof JobStatusSchema>;
