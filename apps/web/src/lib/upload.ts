import { defineErrorClass, FreshetError, type ErrorCode } from '@freshet/errors';
import type { ProgramDiagnostic } from './api-shapes';
import type { Selection } from './project';
import { TRPC_PATH } from './trpc';

export { isProgramFile, PROGRAM_EXTENSIONS } from './project';

/** The kind of failure an upload's transport code (tRPC code, `NETWORK`, …) means. */
function errorCodeOf(transportCode: string, diagnostics: readonly ProgramDiagnostic[]): ErrorCode {
  switch (transportCode) {
    case 'BAD_REQUEST':
      return diagnostics.length > 0 ? 'INVALID_PROGRAM' : 'INVALID_INPUT';
    case 'PAYLOAD_TOO_LARGE':
    case 'NOT_FOUND':
    case 'CONFLICT':
    case 'UNAUTHORIZED':
      return transportCode;
    case 'NETWORK':
    case 'BAD_GATEWAY':
    case 'SERVICE_UNAVAILABLE':
      return 'UNAVAILABLE';
    case 'ABORTED':
      return 'CANCELLED';
    default:
      return 'INTERNAL';
  }
}

/** Why an upload failed, with the compiler's diagnostics when it was the program's fault. */
export class UploadError extends FreshetError<{ transportCode: string; diagnostics: ProgramDiagnostic[] }> {
  static {
    defineErrorClass(this, 'UploadError', 'INTERNAL');
  }

  /**
   * @param transportCode - tRPC error code (`BAD_REQUEST`, `PAYLOAD_TOO_LARGE`, …), `NETWORK` or `ABORTED`
   */
  constructor(message: string, transportCode: string, diagnostics: ProgramDiagnostic[] = []) {
    super(message, {
      details: { transportCode, diagnostics },
      code: errorCodeOf(transportCode, diagnostics),
    });
  }

  /** tRPC error code (`BAD_REQUEST`, `PAYLOAD_TOO_LARGE`, …), `NETWORK` or `ABORTED`. */
  get transportCode(): string {
    return this.details.transportCode;
  }

  /** The compiler's diagnostics, when the program did not compile. */
  get diagnostics(): ProgramDiagnostic[] {
    return this.details.diagnostics;
  }
}

interface TRPCErrorBody {
  error?: {
    message?: string;
    data?: { code?: string; diagnostics?: ProgramDiagnostic[] };
  };
  result?: { data?: unknown };
}

/**
 * The `artifacts.upload` form of a selection: a program or an archive as
 * `file`, a folder as one `files` and one `paths` field per file; a
 * project's `entry` (its path in the project).
 */
export function uploadFormOf(selection: Selection, entry: string | undefined): FormData {
  const form = new FormData();
  if (selection.kind === 'folder') {
    for (const { path, file } of selection.files) {
      form.append('files', file, file.name);
      form.append('paths', path);
    }
    if (selection.label.endsWith('/')) form.append('name', selection.label.slice(0, -1));
  } else {
    form.append('file', selection.file, selection.file.name);
  }
  if (entry !== undefined && selection.kind !== 'program') form.append('entry', entry);
  return form;
}

/**
 * Uploads a program to `artifacts.upload` as multipart FormData, reporting
 * progress (0..1) while the body is sent. XMLHttpRequest rather than fetch:
 * only it reports upload progress. Resolves with the procedure's output;
 * rejects with an {@link UploadError}.
 *
 * @param label - what the user picked, for messages (`job.ts`, `examples/`)
 */
export function uploadProgram<T>(
  form: FormData,
  label: string,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${TRPC_PATH}/artifacts.upload`);
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      onProgress(1);
      let body: TRPCErrorBody | undefined;
      try {
        body = JSON.parse(xhr.responseText) as TRPCErrorBody;
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body?.result) {
        resolve(body.result.data as T);
        return;
      }
      const code =
        body?.error?.data?.code ?? (xhr.status === 413 ? 'PAYLOAD_TOO_LARGE' : `HTTP_${xhr.status}`);
      const message =
        code === 'PAYLOAD_TOO_LARGE'
          ? `${label} is too large for the JobManager. ${body?.error?.message ?? ''}`.trim()
          : (body?.error?.message ?? `The upload failed (HTTP ${xhr.status}).`);
      reject(new UploadError(message, code, body?.error?.data?.diagnostics ?? []));
    });
    xhr.addEventListener('error', () => {
      reject(new UploadError('The upload did not reach the dashboard server. Is it running?', 'NETWORK'));
    });
    xhr.addEventListener('abort', () => {
      reject(new UploadError('The upload was cancelled.', 'ABORTED'));
    });
    signal?.addEventListener('abort', () => {
      xhr.abort();
    });
    xhr.send(form);
  });
}
