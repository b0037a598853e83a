/**
 * Record formats of the {@link FileSource}: how the bytes of a file become
 * records. A file is cut into *records* at newlines (for CSV, newlines
 * outside quotes), and a format's decoder turns a run of complete records
 * into values — in one call per run, so CSV is parsed by `csv-parse` a
 * chunk at a time, not a record at a time.
 *
 * - {@link textLines}: each line as a string (without `\n` and a trailing `\r`).
 * - {@link jsonLines}: each line parsed as JSON, optionally checked by a zod
 *   schema (or any `{ safeParse }`) or mapped by a parse function.
 * - {@link csv}: RFC 4180 rows through `csv-parse` (delimiter, quote, escape,
 *   header row, trimming), typed by a zod schema or a parse function.
 *
 * Text and JSON lines are splittable (a large file is read by several
 * readers in byte ranges); CSV is not, since a byte offset cannot tell
 * whether it is inside a quoted field.
 */
import { parse as parseCsv, type Options as CsvParseOptions } from 'csv-parse/sync';
import { ConnectorConfigError } from '../errors.js';

/** Something that checks and types a parsed value, such as a zod schema. */
export interface SchemaLike<T> {
  safeParse(input: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues?: readonly { path: readonly PropertyKey[]; message: string }[]; message: string };
      };
}

/** A decoded run failed at record `index` of the run. */
export class RecordDecodeError extends Error {
  override readonly name = 'RecordDecodeError';
  constructor(
    /** Index of the bad record within the run. */
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Decodes runs of complete records of one split. `buf[starts[i], ends[i])`
 * is record `i` without its line end; the records of a run are contiguous
 * in `buf`.
 */
export interface RecordDecoder<T> {
  /**
   * Appends the values of records `0..count-1` to `out`.
   * @throws {@link RecordDecodeError} naming the first bad record; the values before it are in `out`
   */
  decode(buf: Buffer, starts: readonly number[], ends: readonly number[], count: number, out: T[]): void;
}

/** Per-split facts a format keeps in the split (plain data), e.g. a CSV header. */
export type FormatSplitState = Record<string, unknown>;

/** How a file's bytes become records of type `T`. */
export interface RecordFormat<T> {
  /** Phantom field carrying the record type; never set. */
  readonly __type?: (value: never) => T;
  /** The format as plain data (for the plan). */
  readonly description: { readonly format: string } & Readonly<Record<string, unknown>>;
  /** Whether a file may be read in byte ranges by several readers. */
  readonly splittable: boolean;
  /** A newline inside this quote character does not end a record (CSV). */
  readonly quote?: string;
  /** The escape character inside quotes (CSV; defaults to the quote itself, as RFC 4180). */
  readonly escape?: string;
  /** Whether blank records (empty lines) are skipped rather than decoded. */
  readonly skipBlank?: boolean;
  /** Whether the first record of a file is a header (read once, kept in the split, not emitted). */
  readonly header?: boolean;
  /** A decoder for a split; `state` holds what an earlier reader of the split kept (the header). */
  decoder(state: FormatSplitState): RecordDecoder<T>;
  /** Reads the header record (CSV): what the split keeps so a restored reader decodes like the first. */
  readHeader?(record: Buffer): FormatSplitState;
}

function trimCr(buf: Buffer, start: number, end: number): number {
  return end > start && buf[end - 1] === 13 ? end - 1 : end;
}

/** Each line of the file as a string. */
export function textLines(): RecordFormat<string> {
  return {
    description: { format: 'text' },
    splittable: true,
    decoder: () => ({
      decode(buf, starts, ends, count, out) {
        for (let i = 0; i < count; i++)
          out.push(buf.toString('utf8', starts[i], trimCr(buf, starts[i]!, ends[i]!)));
      },
    }),
  };
}

/** Options of {@link jsonLines}. */
export interface JsonLinesOptions<T> {
  /** Checks and types each parsed line (a zod schema, or anything with `safeParse`). */
  schema?: SchemaLike<T>;
  /** Maps each parsed line to a record (throw to reject it). */
  parse?: (value: unknown) => T;
}

function describeIssues(error: {
  issues?: readonly { path: readonly PropertyKey[]; message: string }[];
  message: string;
}): string {
  if (!error.issues || error.issues.length === 0) return error.message;
  return error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Applies a schema or parse function, turning their failures into decode errors of record `index`. */
function typer<T>(opts: {
  schema?: SchemaLike<T>;
  parse?: (value: never) => T;
}): ((value: unknown, index: number) => T) | undefined {
  const { schema, parse } = opts;
  if (schema !== undefined && parse !== undefined) {
    throw new ConnectorConfigError('A file format takes a schema or a parse function, not both');
  }
  if (schema !== undefined) {
    if (typeof schema.safeParse !== 'function')
      throw new ConnectorConfigError('A format schema needs a safeParse method (a zod schema)');
    return (value, index) => {
      const r = schema.safeParse(value);
      if (r.success) return r.data;
      throw new RecordDecodeError(index, `does not match the schema: ${describeIssues(r.error)}`);
    };
  }
  if (parse !== undefined) {
    return (value, index) => {
      try {
        return (parse as (value: unknown) => T)(value);
      } catch (error) {
        throw new RecordDecodeError(
          index,
          `the parse function rejected it: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    };
  }
  return undefined;
}

/** Each line of the file parsed as JSON (blank lines are skipped). */
export function jsonLines<T = unknown>(opts: JsonLinesOptions<T> = {}): RecordFormat<T> {
  const type = typer(opts);
  return {
    description: { format: 'jsonLines', typed: type !== undefined },
    splittable: true,
    skipBlank: true,
    decoder: () => ({
      decode(buf, starts, ends, count, out) {
        for (let i = 0; i < count; i++) {
          const text = buf.toString('utf8', starts[i], trimCr(buf, starts[i]!, ends[i]!));
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (error) {
            throw new RecordDecodeError(
              i,
              `is not JSON (${error instanceof Error ? error.message : String(error)})`,
            );
          }
          out.push(type ? type(value, i) : (value as T));
        }
      },
    }),
  };
}

/** Options of {@link csv}. */
export interface CsvOptions<T> {
  /** Field delimiter. @default ',' */
  delimiter?: string;
  /** Quote character. @default '"' */
  quote?: string;
  /** Escape character inside quotes. @default the quote (doubled quotes, RFC 4180) */
  escape?: string;
  /**
   * `true`: the first row names the columns (records are objects by those
   * names); an array: the column names (records are objects, no header row
   * is read); absent: records are arrays of strings.
   * @default false
   */
  header?: boolean | readonly string[];
  /** Trims spaces around fields. @default false */
  trim?: boolean;
  /** Checks, coerces and types each row (a zod schema such as `z.object({ n: z.coerce.number() })`). */
  schema?: SchemaLike<T>;
  /** Maps each row (an object with `header`, else an array of strings) to a record. */
  parse?: (row: Record<string, string> | string[]) => T;
}

/** CSV rows through `csv-parse`, typed by a schema or parse function. */
export function csv<T = Record<string, string>>(opts: CsvOptions<T> = {}): RecordFormat<T> {
  const delimiter = opts.delimiter ?? ',';
  const quote = opts.quote ?? '"';
  const escape = opts.escape ?? quote;
  if (delimiter.length === 0 || quote.length !== 1 || escape.length !== 1) {
    throw new ConnectorConfigError(
      'csv: the delimiter must be non-empty and the quote and escape single characters',
    );
  }
  const type = typer(opts as { schema?: SchemaLike<T>; parse?: (value: never) => T });
  const fixedColumns = Array.isArray(opts.header) ? [...(opts.header as readonly string[])] : undefined;
  const readsHeader = opts.header === true;
  const base: CsvParseOptions = {
    delimiter,
    quote,
    escape,
    trim: opts.trim === true,
    relax_column_count: true,
    skip_empty_lines: true,
  };
  const parseRun = (bytes: Buffer, columns: string[] | undefined): unknown[] => {
    const rows: string[][] = parseCsv(bytes, base);
    if (columns === undefined) return rows;
    return rows.map((row, i) => {
      if (row.length !== columns.length) {
        throw new RecordDecodeError(i, `has ${row.length} fields, the header ${columns.length}`);
      }
      const o: Record<string, string> = {};
      for (let c = 0; c < columns.length; c++) o[columns[c]!] = row[c]!;
      return o;
    });
  };
  return {
    description: {
      format: 'csv',
      delimiter,
      quote,
      header: readsHeader ? true : (fixedColumns ?? false),
      typed: type !== undefined,
    },
    splittable: false,
    skipBlank: true,
    quote,
    escape,
    header: readsHeader,
    readHeader(record) {
      const rows: string[][] = parseCsv(record, base);
      return { columns: rows[0] ?? [] };
    },
    decoder(state) {
      const columns =
        fixedColumns ?? (Array.isArray(state.columns) ? (state.columns as string[]) : undefined);
      return {
        decode(buf, starts, ends, count, out) {
          if (count === 0) return;
          let rows: unknown[] | undefined;
          try {
            rows = parseRun(buf.subarray(starts[0], ends[count - 1]), columns);
            if (rows.length !== count) rows = undefined;
          } catch {
            rows = undefined;
          }
          if (rows === undefined) {
            // Something in the run is bad: decode one record at a time to name it.
            rows = [];
            for (let i = 0; i < count; i++) {
              try {
                rows.push(parseRun(buf.subarray(starts[i], ends[i]), columns)[0]);
              } catch (error) {
                for (let j = 0; j < rows.length; j++) out.push(type ? type(rows[j], j) : (rows[j] as T));
                throw new RecordDecodeError(
                  i,
                  error instanceof RecordDecodeError
                    ? error.message
                    : `is not valid CSV (${error instanceof Error ? error.message : String(error)})`,
                );
              }
            }
          }
          for (let i = 0; i < rows.length; i++) out.push(type ? type(rows[i], i) : (rows[i] as T));
        },
      };
    },
  };
}
