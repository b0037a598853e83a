import { z } from 'zod';
import { Sha256Schema } from '@freshet/protocol';
import type { ProgramUploadForm } from '../artifacts/upload-form.js';
import { adminProcedure, developerProcedure, router, viewerProcedure } from '../trpc.js';

export type { ProgramUploadForm };

const ByIdSchema = z.object({ id: Sha256Schema });

const UploadFormSchema = z.custom<ProgramUploadForm>((value) => value instanceof FormData, {
  message: 'Expected multipart form data with a file field',
});

/** `artifacts.*`: uploaded programs. */
export const artifactsRouter = router({
  /**
   * Uploads a program as `FormData`: a `file` field with a program (.ts,
   * .mts, .js, .mjs, or a bundle from `freshet bundle`) or a project
   * archive (.zip, .tar.gz, .tgz, .tar); or a folder as repeated `files`
   * fields with one `paths` field each (the file's path in the folder).
   * Projects take an optional `entry` (the entry file's path; else
   * package.json's `main` or the only program file) and `name`. Compiles and
   * type-checks it; BAD_REQUEST with `error.data.diagnostics` when it does
   * not compile or naming the archive entry refused, PAYLOAD_TOO_LARGE above
   * the upload or project limits. The same content twice is one artifact.
   */
  upload: developerProcedure
    .input(UploadFormSchema)
    .mutation(({ ctx, input }) => ctx.artifacts.upload(input)),

  /** Every artifact not deleted, newest first. */
  list: viewerProcedure.query(({ ctx }) => ctx.artifacts.list()),

  /** One artifact and the jobs submitted from it. */
  get: viewerProcedure.input(ByIdSchema).query(({ ctx, input }) => ctx.artifacts.get(input.id)),

  /** Deletes an artifact's program; CONFLICT while a job that has not ended uses it. */
  delete: adminProcedure.input(ByIdSchema).mutation(({ ctx, input }) => ctx.artifacts.delete(input.id)),
});
