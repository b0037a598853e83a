/** How the built-in sinks turn records into text. */

/** A record as one JSON document (bigints as decimal strings; `undefined` as `null`). */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
}

/** A record as a line of text: strings as they are, other values as JSON (what JSON cannot write, by its type). */
export function toTextLine(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? typeof value
    );
  } catch {
    return Object.prototype.toString.call(value);
  }
}
