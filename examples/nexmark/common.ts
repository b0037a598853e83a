/**
 * What every Nexmark query program shares: reading its arguments, the event
 * source (a JSON-lines file or the built-in generator) with event-time
 * timestamps and watermarks, and the types of the Nexmark data model.
 *
 * Bundled into each query by esbuild; imports only `@freshet/api`.
 */
import {
  WatermarkStrategy,
  type Auction,
  type Bid,
  type DataStream,
  type NexmarkEvent,
  type Person,
  type StreamExecutionEnvironment,
} from '@freshet/api';
import { parseArgs } from '../args.js';

export type { Auction, Bid, NexmarkEvent, Person };

/**
 * The generator's disorder bound (ms): no event's timestamp lies more than
 * this below one generated before it, so it is the watermark delay that makes
 * no event late (see `@freshet/nexmark`).
 */
export const MAX_DISORDER_MS = 2000;

/** Parsed command-line arguments of a query program. */
export interface QueryArgs {
  /** Read events from this JSON-lines file (`--events-file`). */
  eventsFile?: string;
  /** Number of generated events (`--events`), when not reading a file. */
  events?: number;
  /** Generator seed (`--seed`). @default 42 */
  seed: number;
  /** Events per second of the generator, over all its subtasks (`--rate`); as fast as it can when absent. */
  ratePerSecond?: number;
  /** Write results as JSON lines here (`--output`); collected under the id `result` when absent. */
  output?: string;
  /** Discard the result (`--discard`, for benchmarks) instead of collecting it. */
  discard: boolean;
  /** Watermark delay (`--disorder-ms`). @default 2000 */
  disorderMs: number;
}

function intArg(map: Map<string, string>, name: string): number | undefined {
  const v = map.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} expects a non-negative integer (got '${v}')`);
  return n;
}

/** Reads `--events-file FILE | --events N [--seed S] [--rate R]`, `--output DIR`, `--disorder-ms MS`. */
export function parseQueryArgs(args: readonly string[]): QueryArgs {
  const map = parseArgs(args);
  const eventsFile = map.get('events-file');
  const events = intArg(map, 'events');
  if (eventsFile === undefined && events === undefined) {
    throw new Error(
      'Give the input: --events-file FILE (JSON lines) or --events N [--seed S] (built-in generator)',
    );
  }
  const parsed: QueryArgs = {
    seed: intArg(map, 'seed') ?? 42,
    disorderMs: intArg(map, 'disorder-ms') ?? MAX_DISORDER_MS,
    discard: map.get('discard') === 'true',
  };
  if (eventsFile !== undefined) parsed.eventsFile = eventsFile;
  else if (events !== undefined) parsed.events = events;
  const rate = intArg(map, 'rate');
  if (rate !== undefined && rate > 0) parsed.ratePerSecond = rate;
  const output = map.get('output');
  if (output !== undefined) parsed.output = output;
  return parsed;
}

/** Event time of an event. */
export function eventTime(e: NexmarkEvent): number {
  return e.event_type === 2 ? e.bid.dateTime : e.event_type === 1 ? e.auction.dateTime : e.person.dateTime;
}

/** The event stream with event-time timestamps and watermarks `disorderMs` behind the largest timestamp seen. */
export function nexmarkEvents(env: StreamExecutionEnvironment, args: QueryArgs): DataStream<NexmarkEvent> {
  const raw: DataStream<NexmarkEvent> =
    args.eventsFile !== undefined
      ? env
          .readTextFile(args.eventsFile)
          .name('events-file')
          .map((line: string) => JSON.parse(line) as NexmarkEvent)
          .name('parse')
      : (env.nexmark({
          events: args.events,
          seed: args.seed,
          ...(args.ratePerSecond === undefined ? {} : { ratePerSecond: args.ratePerSecond }),
        }) as DataStream<NexmarkEvent>);
  return raw
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(args.disorderMs).withTimestampAssigner(
        eventTime,
      ),
    )
    .name('timestamps');
}

/** Only the bids. */
export function bids(events: DataStream<NexmarkEvent>): DataStream<Bid> {
  return events
    .flatMap((e: NexmarkEvent, out: { collect(b: Bid): void }) => {
      if (e.event_type === 2) out.collect(e.bid);
    })
    .name('bids');
}

/** Only the auctions. */
export function auctions(events: DataStream<NexmarkEvent>): DataStream<Auction> {
  return events
    .flatMap((e: NexmarkEvent, out: { collect(a: Auction): void }) => {
      if (e.event_type === 1) out.collect(e.auction);
    })
    .name('auctions');
}

/** Only the persons. */
export function persons(events: DataStream<NexmarkEvent>): DataStream<Person> {
  return events
    .flatMap((e: NexmarkEvent, out: { collect(p: Person): void }) => {
      if (e.event_type === 0) out.collect(e.person);
    })
    .name('persons');
}

/** Writes the result into the directory `--output` as JSON-lines part files, discards it (`--discard`), or collects it under `result`. */
export function sinkResult<T>(stream: DataStream<T>, args: QueryArgs): void {
  // `--output` is a directory of committed part files (exactly once); one writer keeps the result in one
  // sequence of parts (`part-0-<n>.jsonl`), which `freshet nexmark run` concatenates into its output file.
  if (args.output !== undefined) stream.writeAsJsonLines(args.output).name('output').setParallelism(1);
  else if (args.discard) stream.discard().name('discard');
  else stream.collect('result').name('result');
}
