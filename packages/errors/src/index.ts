/**
 * Freshet's error model. Every Freshet error extends {@link FreshetError}:
 * a stable `name`, a stable {@link ErrorCode}, optional structured
 * `details`, `instanceof` that works across realms, and {@link errorToJSON}
 * / {@link errorFromJSON} to carry it across worker threads and processes.
 * Domain code throws the kind classes ({@link NotFoundError},
 * {@link ConflictError}, …) or its own subclasses; the API edge maps codes
 * to transport codes in one place.
 *
 * Dependency-free and free of Node APIs: it runs in browsers, worker
 * threads and user programs alike.
 *
 * @packageDocumentation
 */
export {
  defineErrorClass,
  ERROR_CODES,
  errorClasses,
  errorToJSON,
  FreshetError,
  isErrorCode,
  type ErrorClass,
  type ErrorCode,
  type ErrorJSON,
  type FreshetErrorOptions,
} from './freshet-error.js';
export {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  InvalidProgramError,
  KIND_CLASSES,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
} from './kinds.js';
export { errorFromJSON } from './json.js';
