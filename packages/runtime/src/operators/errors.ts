/**
 * Errors raised by operators. They are Freshet errors (`@freshet/errors`):
 * branded, so `instanceof` holds across realms, with a stable code that
 * survives the worker thread and process boundaries they cross.
 */
import { defineErrorClass, FreshetError, InvalidProgramError } from '@freshet/errors';

/** {@link UserFunctionError.details}. */
export interface UserFunctionErrorDetails {
  /** Name of the operator whose user function failed. */
  operatorName: string;
  /** Which call failed, e.g. `map`, `processElement`, `onTimer`, `key selector`. */
  where: string;
}

/** A user function (map, reduce, process, trigger, …) threw while the operator ran it. Code `USER_FUNCTION_FAILED`. */
export class UserFunctionError extends FreshetError<UserFunctionErrorDetails> {
  static {
    defineErrorClass(this, 'UserFunctionError', 'USER_FUNCTION_FAILED');
  }

  constructor(
    /** Name of the operator whose user function failed. */
    operatorName: string,
    /** Which call failed, e.g. `map`, `processElement`, `onTimer`. */
    where: string,
    /** The error the user function threw (kept with its stack). */
    cause: unknown,
  ) {
    super(`User function of operator '${operatorName}' failed in ${where}: ${describe(cause)}`, {
      cause,
      details: { operatorName, where },
    });
  }

  /** Name of the operator whose user function failed. */
  get operatorName(): string {
    return this.details.operatorName;
  }

  /** Which call failed, e.g. `map`, `processElement`, `onTimer`. */
  get where(): string {
    return this.details.where;
  }
}

/**
 * A misuse of the API detected at run time (timers on a non-keyed stream,
 * state without keyBy, …). Code `INVALID_PROGRAM`.
 */
export class OperatorUsageError extends InvalidProgramError {
  static {
    defineErrorClass(this, 'OperatorUsageError', 'INVALID_PROGRAM');
  }
}

/**
 * Whether `error` is a {@link UserFunctionError}, from whichever realm it
 * comes, or one that arrived as plain data (a serialized failure keeps the
 * name).
 */
export function isUserFunctionError(error: unknown): error is UserFunctionError {
  if (error instanceof UserFunctionError) return true;
  return (
    typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'UserFunctionError'
  );
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}

/**
 * Errors that already surfaced through `reportUserError`. When a downstream
 * operator of the same chain fails inside an upstream user function (a
 * flatMap's collector call), the upstream must rethrow it unchanged instead of
 * blaming its own function.
 */
const surfaced = new WeakSet<object>();

/** Whether an error already went through {@link surfaceUserError} (or is a freshet operator error). */
export function isSurfaced(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (surfaced.has(error)) return true;
  return error instanceof UserFunctionError || error instanceof OperatorUsageError;
}

/**
 * Wraps a user function failure in a {@link UserFunctionError} and hands it to
 * the task's `reportUserError` (which throws). Errors that already surfaced are
 * rethrown unchanged.
 */
export function surfaceUserError(
  error: unknown,
  operatorName: string,
  where: string,
  report: ((error: unknown, where: string) => never) | undefined,
): never {
  if (isSurfaced(error)) throw error as Error;
  const wrapped = new UserFunctionError(operatorName, where, error);
  surfaced.add(wrapped);
  if (report) {
    try {
      report(wrapped, where);
    } catch (thrown) {
      if (typeof thrown === 'object' && thrown !== null) surfaced.add(thrown);
      throw thrown;
    }
  }
  throw wrapped;
}
