import type { ProgramDiagnostic } from '@freshet/planner';

/**
 * A program that did not compile or type-check. Carried as the `cause` of a
 * BAD_REQUEST TRPCError; the error formatter copies its diagnostics to
 * `error.data.diagnostics`.
 */
export class ProgramDiagnosticsError extends Error {
  override readonly name = 'ProgramDiagnosticsError';
  constructor(
    message: string,
    /** Every error, positioned in the program's own source. */
    readonly diagnostics: ProgramDiagnostic[],
  ) {
    super(message);
  }
}

/** Diagnostics of an error's cause, when it is a {@link ProgramDiagnosticsError}. */
export function diagnosticsOf(cause: unknown): ProgramDiagnostic[] | null {
  if (cause instanceof Error && cause.name === 'ProgramDiagnosticsError' && 'diagnostics' in cause) {
    const { diagnostics } = cause as { diagnostics: ProgramDiagnostic[] };
    return diagnostics;
  }
  return null;
}
