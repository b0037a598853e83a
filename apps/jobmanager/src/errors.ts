import { defineErrorClass, InvalidProgramError } from '@freshet/errors';
import type { ProgramDiagnostic } from '@freshet/planner';

/**
 * A program that did not compile or type-check. Code `INVALID_PROGRAM`; the
 * API edge answers BAD_REQUEST and copies its diagnostics to
 * `error.data.diagnostics`.
 */
export class ProgramDiagnosticsError extends InvalidProgramError<{ diagnostics: ProgramDiagnostic[] }> {
  static {
    defineErrorClass(this, 'ProgramDiagnosticsError', 'INVALID_PROGRAM');
  }

  /**
   * @param message - what the client reads, e.g. `2 errors in job.ts:\n…`
   * @param diagnostics - every error, positioned in the program's own source
   */
  constructor(message: string, diagnostics: ProgramDiagnostic[]) {
    super(message, { details: { diagnostics } });
  }

  /** Every error, positioned in the program's own source. */
  get diagnostics(): ProgramDiagnostic[] {
    return this.details.diagnostics;
  }
}
