import { ConflictError, defineErrorClass } from '@freshet/errors';

/**
 * A report, upload or state request from a TaskManager about a subtask it
 * does not run in the attempt it names (fenced: a stale attempt, a
 * TaskManager the subtask moved away from). Code `CONFLICT`.
 */
export class StaleAttemptError extends ConflictError {
  static {
    defineErrorClass(this, 'StaleAttemptError', 'CONFLICT');
  }
}
