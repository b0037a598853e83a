import { z } from 'zod';
import { Sha256Schema } from '@freshet/protocol';
import { adminProcedure, developerProcedure, router, viewerProcedure } from '../trpc.js';

const ByIdSchema = z.object({ id: Sha256Schema });

/**
 * The upload's input type: any `FormData` (Node's or the browser's) fits.
 * Declared structurally so the router's type does not depend on undici's.
 */
export interface ProgramUploadForm {
  get(name: string): unknown;
}

const UploadFormSchema = z.custom<ProgramUploadForm>((value) => value instanceof FormData, {
  message: 'Expected multipart form data with a file field',
});

/** `artifacts.*`: uploaded programs. */
export const artifactsRouter = router({
  /**
   * Uploads a program as `FormData` with a `file` field (.ts, .mts, .js or
   * .mjs). Compiles and type-checks it; BAD_REQUEST with
   * `error.data.diagnostics` when it does not compile, PAYLOAD_TOO_LARGE
   * above the upload limit. The same content twice is one artifact.
   */
  upload: developerProcedure.input(UploadFormSchema).mutation(({ ctx, input }) => ctx.artifacts.upload(input)),

  /** Every artifact not deleted, newest first. */
  list: viewerProcedure.query(({ ctx }) => ctx.artifacts.list()),

  /** One artifact and the jobs submitted from it. */
  get: viewerProcedure.input(ByIdSchema).query(({ ctx, input }) => ctx.artifacts.get(input.id)),

  /** Deletes an artifact's program; CONFLICT while a job that has not ended uses it. */
  delete: adminProcedure.input(ByIdSchema).mutation(({ ctx, input }) => ctx.artifacts.delete(input.id)),
});
