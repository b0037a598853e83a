import { describe, expect, it } from 'vitest';
import { fixtureJob } from '../testing/fixture-graphs.js';
import {
  checkpointMetadataOf,
  parseCheckpointMetadata,
  serializeCheckpointMetadata,
  statesOfMetadata,
  type CompletedCheckpointStates,
  type SubtaskState,
} from './metadata.js';

const { jobGraph } = fixtureJob('keyedSum', { p: 2 });

function completed(): CompletedCheckpointStates {
  const states = new Map<string, { handle: string; bytes: number; final: boolean }>();
  for (const v of jobGraph.vertices)
    for (let s = 0; s < v.parallelism; s++)
      states.set(`${v.id}#${s}`, { handle: `chk-4/${v.id}-${s}.state`, bytes: 10 + s, final: s === 1 });
  return { jobId: 'job-1', checkpointId: 4, attempt: 2, triggeredAt: 1000, completedAt: 1250, states };
}

describe('checkpoint _metadata', () => {
  it('is a self-contained, versioned JSON document naming the job, the vertices and every subtask state', () => {
    const metadata = checkpointMetadataOf(jobGraph, completed());
    const text = serializeCheckpointMetadata(metadata);
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(json).toMatchObject({
      format: 'freshet-checkpoint',
      version: 2,
      jobId: 'job-1',
      jobName: 'test',
      planHash: jobGraph.planHash,
      checkpointId: 4,
      attempt: 2,
      triggeredAt: 1000,
      completedAt: 1250,
      // Full snapshots only: what it wrote is all it holds.
      checkpointedBytes: 10 + 11 + 10 + 11,
      fullBytes: 42,
    });
    const vertices = json.vertices as {
      id: string;
      parallelism: number;
      maxParallelism: number;
      subtasks: unknown[];
    }[];
    expect(vertices.map((v) => [v.id, v.parallelism, v.maxParallelism])).toEqual(
      jobGraph.vertices.map((v) => [v.id, 2, 128]),
    );
    expect(vertices[0]!.subtasks).toEqual([
      { subtask: 0, handle: `chk-4/${jobGraph.vertices[0]!.id}-0.state`, bytes: 10, final: false },
      { subtask: 1, handle: `chk-4/${jobGraph.vertices[0]!.id}-1.state`, bytes: 11, final: true },
    ]);
    expect(parseCheckpointMetadata(text)).toEqual(metadata);
    expect(statesOfMetadata(metadata).get(`${jobGraph.vertices[1]!.id}#1`)).toMatchObject({
      bytes: 11,
      final: true,
    });
  });

  it('refuses a checkpoint that misses a subtask', () => {
    const c = completed();
    const states = new Map(c.states);
    states.delete(`${jobGraph.vertices[0]!.id}#0`);
    expect(() => checkpointMetadataOf(jobGraph, { ...c, states })).toThrow(/has no state for v\d+#0/);
  });

  it('refuses other formats, other versions and missing fields with a message that says so', () => {
    const metadata = checkpointMetadataOf(jobGraph, completed());
    expect(() => parseCheckpointMetadata('{', 'x/_metadata')).toThrow('x/_metadata is not JSON');
    expect(() => parseCheckpointMetadata('{"format":"flink"}')).toThrow('is not a Freshet checkpoint');
    expect(() => parseCheckpointMetadata(JSON.stringify({ ...metadata, version: 3 }))).toThrow(
      '_metadata has checkpoint format version 3; this Freshet reads versions 1 and 2',
    );
    const { jobId: _jobId, ...noJob } = metadata;
    expect(() => parseCheckpointMetadata(JSON.stringify(noJob))).toThrow('_metadata is invalid: jobId');
  });

  it('lists the pieces an incremental snapshot refers to, counts them in the full size once, and still reads version 1', () => {
    const c = completed();
    const states = new Map<string, SubtaskState>(c.states);
    const [a, b] = jobGraph.vertices.map((v) => v.id) as [string, string];
    const piece = { checkpointId: 2, handle: `chk-2/${b}-0.state`, bytes: 500 };
    states.set(`${b}#0`, { handle: `chk-4/${b}-0.state`, bytes: 10, final: false, pieces: [piece] });
    states.set(`${b}#1`, { handle: `chk-4/${b}-1.state`, bytes: 11, final: false, pieces: [piece] });
    const metadata = checkpointMetadataOf(jobGraph, { ...c, states });
    expect(metadata.vertices[1]!.subtasks.map((s) => s.pieces)).toEqual([[piece], [piece]]);
    expect(metadata.vertices[0]!.subtasks.every((s) => s.pieces === undefined)).toBe(true);
    expect(metadata).toMatchObject({ checkpointedBytes: 42, fullBytes: 42 + 500 });
    expect(parseCheckpointMetadata(serializeCheckpointMetadata(metadata))).toEqual(metadata);
    // A version 1 document (written before incremental checkpoints) reads as it is.
    const { checkpointedBytes: _c, fullBytes: _f, ...v1 } = checkpointMetadataOf(jobGraph, c);
    const read = parseCheckpointMetadata(JSON.stringify({ ...v1, version: 1 }));
    expect(read.version).toBe(1);
    expect(statesOfMetadata(read).get(`${a}#0`)).toEqual({
      subtask: 0,
      handle: `chk-4/${a}-0.state`,
      bytes: 10,
      final: false,
    });
  });
});
