/** Checks shared by `fromSource` and `sinkTo` for connector objects. */
import { describeValue } from '../check.js';
import { ProgramDefinitionError } from '../errors.js';

/**
 * A connector's description as a plain-data copy: an object with a
 * non-empty `connector` name that can be written as JSON (it is part of the
 * plan and its hash).
 */
export function checkConnectorDescription(
  what: string,
  description: unknown,
): { connector: string } & Record<string, unknown> {
  const d = description as { connector?: unknown } | null | undefined;
  if (typeof d !== 'object' || d === null || typeof d.connector !== 'string' || d.connector === '') {
    throw new ProgramDefinitionError(
      `${what} expects a connector whose description is an object with a 'connector' name (got ${describeValue(description)})`,
    );
  }
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(d));
  } catch (error) {
    throw new ProgramDefinitionError(
      `${what}: the connector's description must be plain data that can be written as JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return copy as { connector: string } & Record<string, unknown>;
}
