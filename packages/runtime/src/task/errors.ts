/**
 * Task failures as plain data, so they cross worker threads and processes
 * (an Error's class does not survive structured cloning; its name and, for
 * Freshet errors, its code do).
 */
import { defineErrorClass, FreshetError, type ErrorCode } from '@freshet/errors';
import { UserFunctionError } from '../operators/errors.js';

/** A failure of a subtask, serialized. */
export interface SerializedError {
  /** Error class name, e.g. `UserFunctionError`, `TypeError`. */
  name: string;
  /** The Freshet error code (`USER_FUNCTION_FAILED`, `INVALID_PROGRAM`, …); absent for other errors. */
  code?: ErrorCode;
  /** Message, including the user function's own message for user errors. */
  message: string;
  /** Stack trace: the user function's own stack for user errors (source-mapped when the program was loaded with source maps). */
  stack?: string;
  /** Name of the operator whose user function failed, when known. */
  operator?: string;
  /** Vertex (chain) the failed subtask runs. */
  vertex?: string;
  /** Index of the failed subtask. */
  subtask?: number;
}

/** Where a failure happened. */
export interface FailureLocation {
  vertex?: string;
  subtask?: number;
  /** Operator to blame when the error does not name one itself. */
  operator?: string;
}

/** Serializes any thrown value; user function errors keep the user's stack and the operator's name. */
export function serializeError(error: unknown, where: FailureLocation = {}): SerializedError {
  const out: SerializedError = { name: 'Error', message: String(error) };
  if (typeof error === 'object' && error !== null) {
    const e = error as {
      name?: unknown;
      message?: unknown;
      stack?: unknown;
      operatorName?: unknown;
      cause?: unknown;
    };
    if (typeof e.name === 'string') out.name = e.name;
    if (typeof e.message === 'string') out.message = e.message;
    if (typeof e.stack === 'string') out.stack = e.stack;
    if (typeof e.operatorName === 'string') out.operator = e.operatorName;
    if (error instanceof FreshetError) out.code = error.code;
    // A wrapped user error: the cause's stack points into the user's code.
    const cause = e.cause as { stack?: unknown } | undefined;
    if (error instanceof UserFunctionError && typeof cause?.stack === 'string') {
      out.stack = `${cause.stack}\n    (in ${out.operator ?? 'an operator'}: ${out.message})`;
    }
  }
  if (out.operator === undefined && where.operator !== undefined) out.operator = where.operator;
  if (where.vertex !== undefined) out.vertex = where.vertex;
  if (where.subtask !== undefined) out.subtask = where.subtask;
  return out;
}

/** The job was cancelled; tasks end with this when they are stopped from outside. Code `CANCELLED`. */
export class TaskCanceledError extends FreshetError {
  static {
    defineErrorClass(this, 'TaskCanceledError', 'CANCELLED');
  }
}
