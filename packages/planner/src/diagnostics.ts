/**
 * Compile and type errors of a program, as data and as text
 * (`file:line:column: message` followed by a code frame with a caret).
 */

/** One error (or warning) in a program, positioned in the program's own source. */
export interface ProgramDiagnostic {
  /** File as the user knows it (the path given, relative to the working directory, or the upload's name). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  message: string;
  /** A few lines of source around the position with a `^` under the column; empty when no source is known. */
  codeFrame: string;
}

/**
 * Renders the lines around `line`/`column` (both 1-based) with a gutter and a
 * caret, Babel-style:
 *
 * ```text
 *   2 | const a = 1;
 * > 3 | const b: string = a;
 *     |       ^
 *   4 | export default () => {};
 * ```
 */
export function codeFrame(source: string, line: number, column: number, context = 2): string {
  const lines = source.split(/\r?\n/);
  if (line < 1 || line > lines.length) return '';
  const first = Math.max(1, line - context);
  const last = Math.min(lines.length, line + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const text = (lines[n - 1] ?? '').replace(/\t/g, ' ');
    const gutter = `${n === line ? '>' : ' '} ${String(n).padStart(width)} |`;
    out.push(text.length > 0 ? `${gutter} ${text}` : gutter);
    if (n === line) {
      out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
    }
  }
  return out.join('\n');
}

/** `file:line:column: message`, then the code frame. */
export function formatDiagnostic(d: ProgramDiagnostic): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.message}`;
  return d.codeFrame ? `${head}\n${d.codeFrame}` : head;
}
