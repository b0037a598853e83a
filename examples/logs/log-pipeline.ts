/**
 * A web-server log pipeline: parses access-log lines (Common/Combined Log
 * Format), then in 1-minute event-time windows counts requests per status
 * and per path, and raises an alert when a window holds a burst of server
 * errors (5xx).
 *
 * Arguments: `--input FILE` (log lines), `--burst N` (5xx per minute that make
 * a burst, default 10), `--disorder-ms MS` (watermark delay, default 5000),
 * `--output-dir DIR` (writes the directories status, paths, alerts and
 * malformed below it, each holding JSON-lines part files) or, without it,
 * collected as `status`, `paths`, `alerts`, `malformed`.
 */
import {
  defineProgram,
  OutputTag,
  Time,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type DataStream,
  type ProcessContext,
  type ProcessWindowContext,
} from '@freshet/api';
import { parseArgs, required } from '../args.js';

/** One parsed request. */
export interface Request {
  ip: string;
  time: number;
  method: string;
  path: string;
  status: number;
  bytes: number;
}

/** Requests per key (status or path) in a window. */
export interface WindowCount {
  key: string;
  windowStart: number;
  count: number;
}

/** A burst of server errors in one window. */
export interface Alert {
  alert: '5xx-burst';
  windowStart: number;
  windowEnd: number;
  errors: number;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const LINE =
  /^(\S+) \S+ \S+ \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-)/;

/** Parses one access-log line; `undefined` when it is not one. */
export function parseLogLine(line: string): Request | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const month = MONTHS[m[3]!];
  if (month === undefined) return undefined;
  const offsetMin = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  const utc =
    Date.UTC(Number(m[4]), month, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7])) -
    offsetMin * 60_000;
  const path = m[12]!.split('?')[0]!;
  return {
    ip: m[1]!,
    time: utc,
    method: m[11]!,
    path,
    status: Number(m[13]),
    bytes: m[14] === '-' ? 0 : Number(m[14]),
  };
}

/** Counts the elements of a window (shared with `kafka-log-pipeline.ts`). */
export const count: AggregateFunction<unknown, number, number> = {
  createAccumulator: () => 0,
  add: (_v, n) => n + 1,
  getResult: (n) => n,
  merge: (a, b) => a + b,
};

function perWindow(
  stream: DataStream<Request>,
  key: (r: Request) => string,
  name: string,
): DataStream<WindowCount> {
  return stream
    .keyBy(key)
    .window(TumblingEventTimeWindows.of(Time.minutes(1)))
    .aggregate(count, {
      process(k: string, ctx: ProcessWindowContext, counts: readonly number[], out: Collector<WindowCount>) {
        out.collect({ key: k, windowStart: ctx.window().start, count: counts[0] ?? 0 });
      },
    })
    .name(name);
}

/** The log pipeline: `--input FILE [--burst N] [--disorder-ms MS] [--output-dir DIR]`. */
export default defineProgram((env, rawArgs) => {
  const args = parseArgs(rawArgs);
  const input = required(args, 'input', 'a file of access-log lines');
  const burst = Number(args.get('burst') ?? 10);
  const disorderMs = Number(args.get('disorder-ms') ?? 5000);
  const malformedTag = new OutputTag<string>('malformed');

  const parsed = env
    .readTextFile(input)
    .name('log-lines')
    .process({
      processElement(line: string, ctx: ProcessContext, out: Collector<Request>) {
        const r = parseLogLine(line);
        if (r) out.collect(r);
        else if (line.trim().length > 0) ctx.output(malformedTag, line);
      },
    })
    .name('parse');
  const requests = parsed
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<Request>(disorderMs).withTimestampAssigner((r) => r.time),
    )
    .name('timestamps');

  const byStatus = perWindow(requests, (r) => String(r.status), 'count-per-status');
  const byPath = perWindow(requests, (r) => r.path, 'count-per-path');
  const alerts = requests
    .filter((r: Request) => r.status >= 500)
    .name('server-errors')
    .windowAll(TumblingEventTimeWindows.of(Time.minutes(1)))
    .aggregate(count, {
      process(ctx: ProcessWindowContext, counts: readonly number[], out: Collector<Alert>) {
        const errors = counts[0] ?? 0;
        if (errors >= burst)
          out.collect({
            alert: '5xx-burst',
            windowStart: ctx.window().start,
            windowEnd: ctx.window().end,
            errors,
          });
      },
    })
    .name('5xx-burst');
  const malformed = parsed.getSideOutput(malformedTag);

  const dir = args.get('output-dir');
  const sink = <T>(s: DataStream<T>, id: string) => {
    if (dir !== undefined) s.writeAsJsonLines(`${dir}/${id}`).name(`${id}-file`);
    else s.collect(id).name(id);
  };
  sink(byStatus, 'status');
  sink(byPath, 'paths');
  sink(alerts, 'alerts');
  sink(malformed, 'malformed');
});
