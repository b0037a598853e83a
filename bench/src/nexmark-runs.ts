/**
 * What the fault-tolerance benchmarks share: a Nexmark example query with a
 * paced generator writing into the exactly-once file sink, and its clean
 * run — the plain-loop reference over the same events — to compare what a
 * run through faults committed with.
 */
import { fileURLToPath } from 'node:url';
import type { ChaosReport } from '@freshet/jobmanager/testing';
import { NexmarkGenerator, type NexmarkEvent } from '@freshet/nexmark';
import { canonical } from '../../examples/harness.js';
import { reference } from '../../examples/nexmark/reference.js';

/** Seed of the generator: every run reads the same events. */
export const GENERATOR_SEED = 5;

/** The example program of `query`. */
export const queryProgram = (query: string): string =>
  fileURLToPath(new URL(`../../examples/nexmark/${query}.ts`, import.meta.url));

/** The query's arguments: `events` generated events at `rate` per second, committed into the output directory. */
export const queryArgs =
  (events: number, rate: number) =>
  (out: string): string[] => [
    '--events',
    String(events),
    '--seed',
    String(GENERATOR_SEED),
    '--rate',
    String(rate),
    '--output',
    out,
  ];

/** The clean run's records of `query` over the same events, canonical (sorted JSON). */
export function cleanRun(query: string, events: number): string[] {
  const compute = reference[query];
  if (compute === undefined) throw new Error(`No reference for ${query}`);
  const gen = new NexmarkGenerator({ seed: GENERATOR_SEED, events });
  const all: NexmarkEvent[] = [];
  while (gen.hasNext()) all.push(gen.next());
  return canonical(compute(all));
}

/** What a run committed, canonical as {@link cleanRun}. */
export const committedRecords = (report: ChaosReport): string[] =>
  canonical(report.committed.map((l) => JSON.parse(l) as unknown));

/** Whether the run finished with exactly the clean run's records. */
export const exactlyOnce = (report: ChaosReport, clean: readonly string[]): boolean =>
  report.status === 'FINISHED' && JSON.stringify(committedRecords(report)) === JSON.stringify(clean);
