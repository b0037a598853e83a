/**
 * Errors a program gets while it builds its pipeline. They carry the place in
 * the user's program that made the offending call, so the planner can report
 * `file:line:column` even for problems found only when the whole graph is
 * validated (a missing sink, a duplicate uid...).
 */
import { defineErrorClass, InvalidProgramError } from '@freshet/errors';

/** {@link ProgramDefinitionError.details}: where the program went wrong. */
export interface ProgramDefinitionDetails {
  /** `file:line:column` of the call in the user's program that caused the error, when known. */
  location?: string;
  /** StreamNode the error is about, when it is about one. */
  nodeId?: number;
}

/**
 * A program built an invalid pipeline: a wrong argument, an operator used on
 * the wrong kind of stream, or a graph that cannot run. Code
 * `INVALID_PROGRAM`. `instanceof` works across worker threads and realms
 * (the class is branded, see `@freshet/errors`), so a program may catch it.
 */
export class ProgramDefinitionError extends InvalidProgramError<ProgramDefinitionDetails> {
  static {
    defineErrorClass(this, 'ProgramDefinitionError', 'INVALID_PROGRAM');
  }

  /**
   * @param options.callSite where the program made the call at fault, for errors found after it
   *   returned; `null` when no program line is at fault (the location is then unknown)
   */
  constructor(message: string, options: { nodeId?: number; callSite?: CallSite | null } = {}) {
    const details: ProgramDefinitionDetails = {};
    if (options.nodeId !== undefined) details.nodeId = options.nodeId;
    super(message, { details });
    const site = options.callSite;
    let location: string | undefined;
    if (site === null) {
      location = undefined;
    } else if (site) {
      // A deferred error: point its stack at the call that created the node, not at the validator.
      location = userLocation(site);
      this.stack = `${this.name}: ${message}\n${userFrames(site).join('\n')}`;
    } else {
      location = userLocation(this);
    }
    if (location !== undefined) details.location = location;
  }

  /** `file:line:column` of the call in the user's program that caused the error, when known. */
  get location(): string | undefined {
    return this.details.location;
  }

  /** StreamNode the error is about, when it is about one. */
  get nodeId(): number | undefined {
    return this.details.nodeId;
  }
}

/** Where an API call was made: an `Error` captured at the call, its stack formatted only when needed. */
export type CallSite = Error;

/** Captures the current call site (cheap: V8 formats the stack lazily). Plan time only, never per record. */
export function captureCallSite(): CallSite {
  return new Error('call site');
}

// This module sits one folder below the package root in both src/ and dist/.
const API_ROOT_URL = new URL('../', import.meta.url).href;
const API_ROOT_PATH = API_ROOT_URL.startsWith('file://')
  ? decodeURIComponent(new URL(API_ROOT_URL).pathname)
  : API_ROOT_URL;
const TEST_FILE = /\.(test|itest)\.[cm]?[jt]s:/;

function isApiFrame(frame: string): boolean {
  if (TEST_FILE.test(frame)) return false;
  return frame.includes(API_ROOT_URL) || frame.includes(API_ROOT_PATH);
}

/** Stack frames of the error below the API's own frames (the user's program first). */
function userFrames(error: Error): string[] {
  const lines = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
  const first = lines.findIndex((line) => !isApiFrame(line));
  return first < 0 ? [] : lines.slice(first);
}

/** `file:line:column` of the first frame outside the API, if any. */
function userLocation(error: Error): string | undefined {
  const frame = userFrames(error)[0];
  if (!frame) return undefined;
  const match = /\((.*)\)\s*$/.exec(frame) ?? /at (.*)$/.exec(frame);
  const location = match?.[1]?.trim();
  if (!location) return undefined;
  return location.startsWith('file://') ? decodeURIComponent(new URL(location).pathname) : location;
}
