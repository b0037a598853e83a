/**
 * Errors raised by operators. They cross worker threads and processes, so
 * callers check them by `name` (see {@link isUserFunctionError}), never with
 * `instanceof`.
 */

/** A user function (map, reduce, process, trigger, …) threw while the operator ran it. */
export class UserFunctionError extends Error {
  /** Stable name: check errors by name, not by class identity. */
  override readonly name = 'UserFunctionError';
  constructor(
    /** Name of the operator whose user function failed. */
    readonly operatorName: string,
    /** Which call failed, e.g. `map`, `processElement`, `onTimer`. */
    readonly where: string,
    /** The error the user function threw (kept with its stack). */
    cause: unknown,
  ) {
    super(
      `User function of operator '${operatorName}' failed in ${where}: ${describe(cause)}`,
      { cause },
    );
  }
}

/** A misuse of the API detected at run time (timers on a non-keyed stream, state without keyBy, …). */
export class OperatorUsageError extends Error {
  /** Stable name: check errors by name, not by class identity. */
  override readonly name = 'OperatorUsageError';
}

/** Whether `error` is a {@link UserFunctionError} (by name, so it works across realms). */
export function isUserFunctionError(error: unknown): error is UserFunctionError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'UserFunctionError';
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
  const name = (error as { name?: unknown }).name;
  return name === 'UserFunctionError' || name === 'OperatorUsageError';
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
