/**
 * Merging accumulators across subtasks: pure functions over the plain
 * {@link AccumulatorValue}s subtasks report, so the local mini-cluster and
 * the JobManager merge alike without running user code.
 */
import type { AccumulatorValue } from '@freshet/api';

/** What an accumulator merged into: a value (sum, min, max, average, list, histogram) or the subtasks' values (custom). */
export type AccumulatorResult = number | unknown[] | Record<string, number>;

/** Accumulator values of one job, merged by name, with names whose kinds disagree reported apart. */
export interface MergedAccumulators {
  /** Name -> merged result. */
  results: Record<string, AccumulatorResult>;
  /** Names that subtasks registered with different kinds (left out of `results`). */
  conflicts: string[];
}

/** Merges the accumulator values of every subtask, by name. */
export function mergeAccumulators(
  perSubtask: readonly Readonly<Record<string, AccumulatorValue>>[],
): MergedAccumulators {
  const merged = new Map<string, AccumulatorValue[]>();
  for (const values of perSubtask) {
    for (const name of Object.keys(values)) {
      let list = merged.get(name);
      if (!list) merged.set(name, (list = []));
      list.push(values[name]!);
    }
  }
  const results: Record<string, AccumulatorResult> = {};
  const conflicts: string[] = [];
  for (const [name, values] of merged) {
    const kind = values[0]!.kind;
    if (values.some((v) => v.kind !== kind)) {
      conflicts.push(name);
      continue;
    }
    results[name] = mergeOfKind(values);
  }
  return { results, conflicts };
}

function mergeOfKind(values: readonly AccumulatorValue[]): AccumulatorResult {
  const first = values[0]!;
  switch (first.kind) {
    case 'sum': {
      let s = 0;
      for (const v of values) s += (v as typeof first).value;
      return s;
    }
    case 'min': {
      let m = Number.POSITIVE_INFINITY;
      for (const v of values) m = Math.min(m, (v as typeof first).value);
      return m;
    }
    case 'max': {
      let m = Number.NEGATIVE_INFINITY;
      for (const v of values) m = Math.max(m, (v as typeof first).value);
      return m;
    }
    case 'average': {
      let sum = 0;
      let count = 0;
      for (const v of values) {
        sum += (v as typeof first).sum;
        count += (v as typeof first).count;
      }
      return sum / count;
    }
    case 'histogram': {
      const counts: Record<string, number> = {};
      for (const v of values)
        for (const [k, n] of Object.entries((v as typeof first).counts)) counts[k] = (counts[k] ?? 0) + n;
      return counts;
    }
    case 'list': {
      const out: unknown[] = [];
      for (const v of values) for (const x of (v as typeof first).values) out.push(x);
      return out;
    }
    case 'custom':
      return values.map((v) => (v as typeof first).value);
  }
}
