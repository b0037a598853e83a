import { describeRestartStrategy, effectiveRestartStrategy } from '@freshet/graph';
import type { JobGraph } from '@freshet/protocol';
import { operatorUid } from '@freshet/runtime';

/** Operator kinds that keep no state: their uid does not matter to a savepoint. */
const STATELESS = new Set(['map', 'filter', 'flatMap']);

/**
 * The savepoint warning, when operators that may keep state have no uid:
 * their state maps by a generated one (`auto-<nodeId>`), which a change of
 * the job's topology changes. Undefined when every such operator has a uid.
 */
export function renderUidWarning(job: JobGraph): string | undefined {
  const missing = job.vertices
    .flatMap((v) => v.operators)
    .filter((o) => o.uid === undefined && !STATELESS.has(o.kind))
    .map((o) => `${o.name} (${operatorUid(o)})`);
  if (missing.length === 0) return undefined;
  return `Warning: ${missing.length} operator${missing.length === 1 ? ' has' : 's have'} no uid: ${missing.join(', ')}. Their state in savepoints maps by the generated uid and will not survive a change of the job's topology; set .uid('...') on them.`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * The job's fault-tolerance line: its checkpointing, its restart strategy
 * and its guarantee — exactly-once for state, unless a source cannot replay
 * its records (a socket), which makes the job at-most-once for that source.
 */
export function renderFaultTolerance(job: JobGraph): string {
  const c = job.checkpointing;
  const checkpoints = c
    ? `checkpoints every ${c.intervalMs} ms (${c.mode}, timeout ${c.timeoutMs} ms, min pause ${c.minPauseBetweenCheckpointsMs} ms, keep ${c.maxRetainedCheckpoints})`
    : 'no periodic checkpoints (one final checkpoint at the end of bounded input)';
  const restart = describeRestartStrategy(effectiveRestartStrategy(job.restartStrategy, c !== undefined));
  const atMostOnce = job.vertices.filter((v) => !v.replayable).map((v) => v.name);
  const guarantee =
    atMostOnce.length > 0
      ? `at-most-once for ${atMostOnce.join(', ')} (cannot replay after a restore)`
      : c?.mode === 'AT_LEAST_ONCE'
        ? 'at-least-once'
        : 'exactly-once';
  return `Fault tolerance: ${checkpoints}; restart strategy: ${restart}; ${guarantee}`;
}

/**
 * A readable rendering of a JobGraph, as `freshet plan` prints it: the job's
 * settings, its fault tolerance, each vertex with its chained operators,
 * parallelism and slot-sharing group, and each exchange with its partitioning.
 */
export function renderJobGraph(job: JobGraph): string {
  const out: string[] = [];
  out.push(
    `Job '${job.jobName}'  ${job.runtimeMode}  parallelism ${job.parallelism}  max parallelism ${job.maxParallelism}  plan ${job.planHash.slice(0, 12)}`,
  );
  out.push(renderFaultTolerance(job));
  const uidWarning = renderUidWarning(job);
  if (uidWarning !== undefined) out.push(uidWarning);
  out.push('', `Vertices (${job.vertices.length})`);
  for (const v of job.vertices) {
    const flags = [
      v.isSource ? 'source' : '',
      v.bounded ? 'bounded' : 'unbounded',
      v.replayable ? '' : 'at-most-once: cannot replay',
    ]
      .filter(Boolean)
      .join(', ');
    out.push(`  ${v.id}  parallelism ${v.parallelism}  slot group '${v.slotSharingGroup}'  (${flags})`);
    v.operators.forEach((op, i) => {
      out.push(
        `      ${i === 0 ? '' : '-> '}${op.name}  [${op.kind} #${op.nodeId}${op.uid === undefined ? '' : ` uid '${op.uid}'`}]`,
      );
    });
  }
  out.push('', `Edges (${job.edges.length})`);
  if (job.edges.length > 0) {
    const rows = job.edges.map((e) => [
      e.source,
      e.target,
      e.partitioning,
      String(e.inputIndex),
      e.sideOutput ?? '',
      `#${e.sourceNodeId} -> #${e.targetNodeId}`,
    ]);
    out.push(
      table(['FROM', 'TO', 'PARTITIONING', 'INPUT', 'SIDE OUTPUT', 'OPERATORS'], rows)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  return out.join('\n');
}
