import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureJob } from '../testing/fixture-graphs.js';
import { DirectoryCheckpointStorage } from './directory-storage.js';
import { checkpointMetadataOf } from './metadata.js';

let root: string;
let storage: DirectoryCheckpointStorage;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'freshet-chk-'));
  storage = new DirectoryCheckpointStorage(root);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const bytes = (...b: number[]) => new Uint8Array(b);

describe('DirectoryCheckpointStorage', () => {
  it('writes states under <root>/<jobId>/chk-<N>/ and final states under shared/, and reads them back', async () => {
    const h1 = await storage.writeState(
      { jobId: 'j', checkpointId: 3, attempt: 0, vertexId: 'v1', subtask: 1 },
      bytes(1, 2),
    );
    const h2 = await storage.writeState(
      { jobId: 'j', checkpointId: 'final', attempt: 2, vertexId: 'v4', subtask: 0 },
      bytes(9),
    );
    expect(h1).toBe('chk-3/v1-1.state');
    expect(h2).toBe('shared/final-v4-0-a2.state');
    expect(existsSync(join(root, 'j', 'chk-3', 'v1-1.state'))).toBe(true);
    expect(await storage.readState('j', h1)).toEqual(bytes(1, 2));
    expect(await storage.readState('j', h2)).toEqual(bytes(9));
    // No temporary file is left behind.
    expect(readdirSync(join(root, 'j', 'chk-3'))).toEqual(['v1-1.state']);
  });

  it('writes and reads _metadata and lists only the checkpoints that have one', async () => {
    const { jobGraph } = fixtureJob('keyedSum', { p: 1 });
    const states = new Map(
      jobGraph.vertices.map((v) => [
        `${v.id}#0`,
        { handle: `chk-5/${v.id}-0.state`, bytes: 1, final: false },
      ]),
    );
    const metadata = checkpointMetadataOf(jobGraph, {
      jobId: 'j',
      checkpointId: 5,
      attempt: 0,
      triggeredAt: 1,
      completedAt: 2,
      states,
    });
    await storage.writeState(
      { jobId: 'j', checkpointId: 6, attempt: 0, vertexId: 'v1', subtask: 0 },
      bytes(1),
    );
    const path = await storage.writeMetadata(metadata);
    expect(path).toBe(join(root, 'j', 'chk-5', '_metadata'));
    expect(await storage.readMetadata('j', 5)).toEqual(metadata);
    expect(await storage.listCheckpoints('j')).toEqual([5]);
    expect(await storage.listCheckpoints('nothing-here')).toEqual([]);
  });

  it('discards states and metadata, keeping a directory that still holds a referenced state', async () => {
    const a = await storage.writeState(
      { jobId: 'j', checkpointId: 1, attempt: 0, vertexId: 'v1', subtask: 0 },
      bytes(1),
    );
    const b = await storage.writeState(
      { jobId: 'j', checkpointId: 1, attempt: 0, vertexId: 'v2', subtask: 0 },
      bytes(2),
    );
    const { jobGraph } = fixtureJob('keyedSum', { p: 1 });
    const states = new Map(
      jobGraph.vertices.map((v) => [`${v.id}#0`, { handle: a, bytes: 1, final: false }]),
    );
    await storage.writeMetadata(
      checkpointMetadataOf(jobGraph, {
        jobId: 'j',
        checkpointId: 1,
        attempt: 0,
        triggeredAt: 1,
        completedAt: 2,
        states,
      }),
    );
    // Checkpoint 1 goes, but state b is still referenced by a later checkpoint: only a is deleted.
    await storage.discard('j', { checkpointId: 1, handles: [a] });
    expect(readdirSync(join(root, 'j', 'chk-1'))).toEqual(['v2-0.state']);
    expect(await storage.listCheckpoints('j')).toEqual([]);
    await storage.discard('j', { handles: [b, 'chk-9/gone.state'] });
    expect(existsSync(join(root, 'j', 'chk-1'))).toBe(false);
    await storage.discardJob('j');
    expect(existsSync(join(root, 'j'))).toBe(false);
  });

  it('refuses handles outside the job directory and unsafe ids', async () => {
    await expect(storage.readState('j', '../other/chk-1/v1-0.state')).rejects.toThrow('points outside');
    await expect(storage.readState('j', '/etc/passwd')).rejects.toThrow('points outside');
    await expect(
      storage.writeState(
        { jobId: '../x', checkpointId: 1, attempt: 0, vertexId: 'v1', subtask: 0 },
        bytes(1),
      ),
    ).rejects.toThrow("job id '../x' cannot be a file name");
  });
});
