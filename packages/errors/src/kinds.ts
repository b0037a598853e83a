/**
 * One error class per kind of failure that domain code reports to its
 * callers. Domain code throws these (or a subclass with its own name); the
 * API edge maps their {@link ErrorCode} to the transport's codes.
 */
import { defineErrorClass, FreshetError } from './freshet-error.js';
import type { ErrorCode } from './freshet-error.js';

/** The caller's input or configuration is malformed. Code `INVALID_INPUT`. */
export class InvalidInputError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'InvalidInputError', 'INVALID_INPUT');
  }
}

/** The user's program cannot be compiled, planned or deployed as written. Code `INVALID_PROGRAM`. */
export class InvalidProgramError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'InvalidProgramError', 'INVALID_PROGRAM');
  }
}

/** What the caller named does not exist (any more). Code `NOT_FOUND`. */
export class NotFoundError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'NotFoundError', 'NOT_FOUND');
  }
}

/** The target's current state forbids the operation. Code `CONFLICT`. */
export class ConflictError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'ConflictError', 'CONFLICT');
  }
}

/** A payload is over a configured limit. Code `PAYLOAD_TOO_LARGE`. */
export class PayloadTooLargeError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'PayloadTooLargeError', 'PAYLOAD_TOO_LARGE');
  }
}

/** The caller did not prove who it is. Code `UNAUTHORIZED`. */
export class UnauthorizedError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'UnauthorizedError', 'UNAUTHORIZED');
  }
}

/** The caller is known, but its role does not allow the operation. Code `FORBIDDEN`. */
export class ForbiddenError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'ForbiddenError', 'FORBIDDEN');
  }
}

/**
 * A queue or limit is full for now. Code `TOO_MANY_REQUESTS`; `details.retryAfterSeconds`
 * says when trying again is likely to succeed (the HTTP edge sends it as `Retry-After`).
 */
export class TooManyRequestsError extends FreshetError<{ retryAfterSeconds: number }> {
  static {
    defineErrorClass(this, 'TooManyRequestsError', 'TOO_MANY_REQUESTS');
  }

  /**
   * @param message - what the caller reads, naming the limit and its setting
   * @param retryAfterSeconds - when trying again is likely to succeed
   */
  constructor(message: string, retryAfterSeconds: number) {
    super(message, { details: { retryAfterSeconds } });
  }

  /** When trying again is likely to succeed, in whole seconds. */
  get retryAfterSeconds(): number {
    return this.details.retryAfterSeconds;
  }
}

/** A service, peer or resource could not be reached. Code `UNAVAILABLE`. */
export class UnavailableError<D extends object | undefined = undefined> extends FreshetError<D> {
  static {
    defineErrorClass(this, 'UnavailableError', 'UNAVAILABLE');
  }
}

/**
 * The class an error of `code` is rebuilt as when its own class is not
 * loaded where it arrives.
 */
export const KIND_CLASSES: Readonly<
  Partial<Record<ErrorCode, new (message: string) => FreshetError<object | undefined>>>
> = {
  INVALID_INPUT: InvalidInputError,
  INVALID_PROGRAM: InvalidProgramError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  UNAUTHORIZED: UnauthorizedError,
  FORBIDDEN: ForbiddenError,
  UNAVAILABLE: UnavailableError,
};
