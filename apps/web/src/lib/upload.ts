import { defineErrorClass, FreshetError, type ErrorCode } from '@freshet/errors';
import type { ProgramDiagnostic } from './api-shapes';
import { TRPC_PATH } from './trpc';

/** File name endings a program may have. */
export const PROGRAM_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** Whether `name` looks like a program the JobManager compiles. */
export function isProgramFile(name: string): boolean {
  const lower = name.toLowerCase();
  return PROGRAM_EXTENSIONS.some((ext) => lower.endsWith(ext)) && !lower.endsWith('.d.ts');
}

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
    super(message, { details: { transportCode, diagnostics }, code: errorCodeOf(transportCode, diagnostics) });
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
 * Uploads a program to `artifacts.upload` as multipart FormData, reporting
 * progress (0..1) while the body is sent. XMLHttpRequest rather than fetch:
 * only it reports upload progress. Resolves with the procedure's output;
 * rejects with an {@link UploadError}.
 */
export function uploadProgram<T>(
  file: File,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const form = new FormData();
    form.append('file', file, file.name);
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
          ? `${file.name} is too large for the JobManager. ${body?.error?.message ?? ''}`.trim()
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
