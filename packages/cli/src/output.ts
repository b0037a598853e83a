import { defineErrorClass, FreshetError, type ErrorCode } from '@freshet/errors';

/**
 * An error the CLI reports as one line on stderr with a chosen exit code,
 * without a stack trace. Code `INVALID_INPUT` unless the thrower says
 * otherwise (a JobManager that cannot be reached is `UNAVAILABLE`).
 */
export class CliError extends FreshetError<{ exitCode: number }> {
  static {
    defineErrorClass(this, 'CliError', 'INVALID_INPUT');
  }

  constructor(message: string, exitCode = 1, code?: ErrorCode) {
    super(message, code === undefined ? { details: { exitCode } } : { details: { exitCode }, code });
  }

  /** Process exit code. @default 1 */
  get exitCode(): number {
    return this.details.exitCode;
  }
}

/** Prints `value` as pretty JSON on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Renders rows as a left-aligned text table with a header line. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Prints a job's accumulators (name: merged value), if it has any. */
export function printAccumulators(accumulators: Readonly<Record<string, unknown>>): void {
  const names = Object.keys(accumulators).sort();
  if (names.length === 0) return;
  process.stdout.write('\naccumulators:\n');
  for (const name of names) process.stdout.write(`  ${name}: ${JSON.stringify(accumulators[name])}\n`);
}
