import { z } from 'zod';
import { StoredTextSchema } from '@freshet/protocol';
import { notFound, type CollectedRecords } from '../jobs/service.js';
import type { OutputPage } from '../output/tail.js';
import { router, viewerProcedure } from '../trpc.js';

const TailInputSchema = z.object({
  jobId: StoredTextSchema.min(1).max(100),
  /** `latestSeq` of the previous answer: only newer records come back. */
  after: z.int().min(0).default(0),
  /** Only this sink's records. */
  sink: StoredTextSchema.min(1).max(200).optional(),
  limit: z.int().min(1).max(5000).default(1000),
});

/** `output.tail`'s answer: a page of the job's output, and whether it is the live tail. */
export interface OutputTail extends OutputPage {
  jobId: string;
  /**
   * True for the live tail (the newest records); false when this
   * JobManager no longer holds it and the job's stored results (its collect
   * sinks' first records) stand in.
   */
  live: boolean;
}

/** `output.*`: what a job's sinks produce, as it is produced. */
export const outputRouter = router({
  /**
   * The newest records of a job's `collect` sinks after seq `after`, oldest
   * first (poll with the previous `latestSeq`); `dropped` counts records the
   * bounded buffer overwrote before they were read. A job whose tail left
   * memory answers with its stored results, `live: false`.
   */
  tail: viewerProcedure.input(TailInputSchema).query(async ({ ctx, input }): Promise<OutputTail> => {
    if (ctx.output.has(input.jobId))
      return {
        jobId: input.jobId,
        live: true,
        ...ctx.output.read(input.jobId, input.after, input.limit, input.sink),
      };
    const row = await ctx.db.prisma.job.findUnique({
      where: { id: input.jobId },
      select: { collected: true },
    });
    if (row === null) throw notFound(input.jobId);
    const records: OutputPage['records'] = [];
    const sinks: string[] = [];
    for (const c of (row.collected as CollectedRecords[] | null) ?? []) {
      sinks.push(c.collectId);
      for (const value of c.records)
        records.push({ seq: records.length + 1, sink: c.collectId, at: 0, text: JSON.stringify(value) });
    }
    const wanted = records.filter(
      (r) => r.seq > input.after && (input.sink === undefined || r.sink === input.sink),
    );
    return {
      jobId: input.jobId,
      live: false,
      records: wanted.slice(0, input.limit),
      latestSeq: records.length,
      dropped: 0,
      sinks: sinks.sort(),
      capacity: records.length,
    };
  }),
});
