/**
 * Savepoints: user-triggered checkpoints in a self-contained, portable,
 * versioned directory that a job can start from — also at another
 * parallelism, and after its code changed (state maps to operators by uid).
 *
 * ```
 * <dir>/_metadata                   JSON: {"format": "freshet-savepoint", "version": 1, ...}
 * <dir>/<vertexId>-<subtask>.state  one subtask snapshot each (the checkpoint's own encoding)
 * ```
 *
 * Handles in a savepoint's `_metadata` are file names inside its directory,
 * so the directory can be copied or moved as a whole. Nothing deletes a
 * savepoint: retention only ever touches checkpoints. A savepoint of an
 * incremental checkpoint is **materialized**: each subtask's file holds all
 * its state (the pieces of earlier checkpoints it referred to resolved into
 * it), so it needs nothing of the job's checkpoint directory.
 *
 * A job can start from a savepoint or from a retained completed checkpoint
 * (`<checkpoints>/<jobId>/chk-<N>`, whose handles are relative to the job's
 * checkpoint directory): {@link openRestorePoint} reads either, and
 * {@link assignRestoredState} maps its state onto a new JobGraph.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { defineErrorClass, InvalidInputError } from '@freshet/errors';
import type { JobGraph } from '@freshet/graph';
import { executionKey } from '../executiongraph/execution-id.js';
import { keyGroupRange, subtaskForKeyGroup } from '../keygroups.js';
import type { OperatorSnapshot } from '../operator.js';
import { writeAtomically } from './directory-storage.js';
import {
  CHECKPOINT_METADATA_FORMAT,
  CheckpointMetadataError,
  CheckpointMetadataSchema,
  parseCheckpointMetadata,
  VertexStateMetadataSchema,
  type CheckpointMetadata,
  type StatePiece,
} from './metadata.js';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot, resolveSubtaskSnapshot } from './snapshot-codec.js';
import { decodeKeyGroup } from '../state/disk-store.js';

/** The `format` field of a savepoint's `_metadata`. */
export const SAVEPOINT_FORMAT = 'freshet-savepoint';
/** The savepoint format version this Freshet writes and reads. */
export const SAVEPOINT_VERSION = 1;
/** The metadata file of a savepoint (and of a checkpoint). */
export const SAVEPOINT_METADATA_FILE = '_metadata';

/** Why a savepoint was taken. */
export const SavepointTriggerSchema = z.enum(['savepoint', 'stop', 'drain']);
/** @see {@link SavepointTriggerSchema} */
export type SavepointTrigger = z.infer<typeof SavepointTriggerSchema>;

/** An operator in a savepoint: its StreamNode id then, and the uid its state maps by. */
export const SavepointOperatorSchema = z.object({
  nodeId: z.int().positive(),
  name: z.string(),
  uid: z.string().min(1),
  /** True when the program set no uid and Freshet generated this one (`auto-<nodeId>`). */
  generatedUid: z.boolean(),
});
/** @see {@link SavepointOperatorSchema} */
export type SavepointOperator = z.infer<typeof SavepointOperatorSchema>;

/**
 * The `_metadata` document of a savepoint: a checkpoint's metadata in
 * another format, with every operator's effective uid and why it was taken.
 */
export const SavepointMetadataSchema = CheckpointMetadataSchema.extend({
  format: z.literal(SAVEPOINT_FORMAT),
  version: z.literal(SAVEPOINT_VERSION),
  /** Epoch ms the savepoint's files were written. */
  takenAt: z.number(),
  trigger: SavepointTriggerSchema,
  vertices: z.array(VertexStateMetadataSchema.extend({ operators: z.array(SavepointOperatorSchema) })),
});
/** @see {@link SavepointMetadataSchema} */
export type SavepointMetadata = z.infer<typeof SavepointMetadataSchema>;

/** A savepoint or checkpoint path that cannot be used (missing, corrupt, foreign, outside the allowed roots). */
export class RestorePointError extends InvalidInputError {
  static {
    defineErrorClass(this, 'RestorePointError', 'INVALID_INPUT');
  }
}

/** The savepoint's state does not fit the new job (an operator gone, key groups changed). */
export class StateMappingError extends InvalidInputError {
  static {
    defineErrorClass(this, 'StateMappingError', 'INVALID_INPUT');
  }
}

/** The uid operator state maps by: the program's, else `auto-<nodeId>` (stable while the topology stays). */
export function operatorUid(op: { nodeId: number; uid?: string | undefined }): string {
  return op.uid ?? `auto-${op.nodeId}`;
}

/** The state file name of a subtask in a savepoint. */
function stateFileName(vertexId: string, subtask: number): string {
  const name = `${vertexId}-${subtask}.state`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new RestorePointError(`vertex id '${vertexId}' cannot be part of a file name`);
  }
  return name;
}

/**
 * Resolves `dir` inside `root` (a relative `dir` is taken from `root`).
 *
 * @throws {@link RestorePointError} when it points outside `root`
 */
export function resolveInside(root: string, dir: string, what: string): string {
  if (dir.length === 0 || dir.includes('\0')) throw new RestorePointError(`${what} must be a path`);
  const rootAbs = resolve(root);
  const path = resolve(rootAbs, dir);
  const rel = relative(rootAbs, path);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new RestorePointError(`${what} '${dir}' is outside ${rootAbs}; use a directory inside it`);
  }
  return path;
}

/**
 * How errors name one subtask's state of a checkpoint (`checkpoint 7,
 * vertex v3 subtask 1`; `checkpoint 7 of job <id>, …` with `jobId`).
 */
export function subtaskStateName(
  checkpointId: number,
  vertexId: string,
  subtask: number,
  jobId?: string,
): string {
  return `checkpoint ${checkpointId}${jobId === undefined ? '' : ` of job ${jobId}`}, vertex ${vertexId} subtask ${subtask}`;
}

/**
 * One subtask's state of a checkpoint as a self-contained snapshot: its own
 * stored snapshot with the earlier pieces it refers to (an incremental one)
 * resolved into it (chains of deltas applied), every file read through
 * `readState`. `where` names the state in errors (checkpoint, vertex,
 * subtask); the handle by default.
 *
 * @throws {@link RestorePointError} when the snapshot refers to a checkpoint whose piece it does not list
 * @throws {@link SnapshotCodecError} when a piece lacks what it refers to, or a delta is malformed
 */
export async function readSubtaskState(
  state: { handle: string; pieces?: readonly StatePiece[] | undefined },
  readState: (handle: string) => Promise<Uint8Array>,
  where = `state ${state.handle}`,
): Promise<Uint8Array> {
  const bytes = await readState(state.handle);
  const pieces = state.pieces;
  if (pieces === undefined || pieces.length === 0) return bytes;
  return resolveSubtaskSnapshot(
    bytes,
    (checkpointId) => {
      const piece = pieces.find((p) => p.checkpointId === checkpointId);
      if (piece === undefined) {
        throw new RestorePointError(
          `state ${state.handle} refers to the piece of checkpoint ${checkpointId}, which its metadata does not list`,
        );
      }
      return readState(piece.handle);
    },
    where,
  );
}

/**
 * Refuses a savepoint directory that already holds a savepoint, before any
 * barrier is sent: a savepoint never overwrites another.
 *
 * @throws {@link RestorePointError} when `dir` already holds a savepoint
 */
export async function assertSavepointTargetFree(dir: string): Promise<void> {
  if (await exists(join(dir, SAVEPOINT_METADATA_FILE))) {
    throw new RestorePointError(`${dir} already holds a savepoint; name another directory`);
  }
}

/**
 * Writes a savepoint of the completed checkpoint `checkpoint` into `dir`:
 * every subtask's state (read through `readState`), then `_metadata` (the
 * savepoint exists once that is there).
 *
 * @throws {@link RestorePointError} when `dir` already holds a savepoint
 */
export async function writeSavepoint(
  dir: string,
  checkpoint: CheckpointMetadata,
  trigger: SavepointTrigger,
  readState: (handle: string) => Promise<Uint8Array>,
  now: number = Date.now(),
): Promise<SavepointMetadata> {
  await assertSavepointTargetFree(dir);
  const metadataPath = join(dir, SAVEPOINT_METADATA_FILE);
  const vertices: SavepointMetadata['vertices'] = [];
  for (const v of checkpoint.vertices) {
    const subtasks = [];
    for (const s of v.subtasks) {
      const name = stateFileName(v.id, s.subtask);
      // Materialized: the pieces an incremental snapshot refers to go into the subtask's own file.
      const bytes = await readSubtaskState(
        s,
        readState,
        subtaskStateName(checkpoint.checkpointId, v.id, s.subtask),
      );
      await writeAtomically(join(dir, name), bytes);
      subtasks.push({ subtask: s.subtask, handle: name, bytes: bytes.byteLength, final: s.final });
    }
    vertices.push({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      operators: v.operators.map((o) => ({
        nodeId: o.nodeId,
        name: o.name,
        uid: operatorUid(o),
        generatedUid: o.uid === undefined,
      })),
      subtasks,
    });
  }
  const metadata: SavepointMetadata = {
    format: SAVEPOINT_FORMAT,
    version: SAVEPOINT_VERSION,
    jobId: checkpoint.jobId,
    jobName: checkpoint.jobName,
    planHash: checkpoint.planHash,
    checkpointId: checkpoint.checkpointId,
    attempt: checkpoint.attempt,
    triggeredAt: checkpoint.triggeredAt,
    completedAt: checkpoint.completedAt,
    takenAt: now,
    trigger,
    vertices,
  };
  await writeAtomically(metadataPath, `${JSON.stringify(metadata, null, 2)}\n`);
  return metadata;
}

/**
 * Reads the JSON text of a savepoint's `_metadata`.
 *
 * @throws {@link RestorePointError} naming what is wrong
 */
export function parseSavepointMetadata(text: string, where: string): SavepointMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RestorePointError(`${where} is not JSON: ${(error as Error).message}`);
  }
  const head = json as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== SAVEPOINT_FORMAT) {
    throw new RestorePointError(`${where} is not a Freshet savepoint (format is not "${SAVEPOINT_FORMAT}")`);
  }
  if (head.version !== SAVEPOINT_VERSION) {
    throw new RestorePointError(
      `${where} has savepoint format version ${String(head.version)}; this Freshet reads version ${SAVEPOINT_VERSION}`,
    );
  }
  const parsed = SavepointMetadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RestorePointError(
      `${where} is invalid: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'unknown problem'}`,
    );
  }
  return parsed.data;
}

/** A savepoint or a retained checkpoint, opened for a restore or an inspection. */
export interface RestorePoint {
  kind: 'savepoint' | 'checkpoint';
  /** The directory holding `_metadata`. */
  path: string;
  /** The metadata, as a savepoint's (a checkpoint's operators get their effective uids). */
  metadata: SavepointMetadata;
  /**
   * Reads a subtask state by its handle (refused when it points outside the
   * restore point), self-contained: an incremental checkpoint's references
   * to earlier pieces are resolved.
   */
  readState(handle: string): Promise<Uint8Array>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a savepoint directory, a checkpoint directory (`chk-<N>`) or either's
 * `_metadata` file. `roots` are the directories it must lie in (the
 * JobManager's savepoint and checkpoint directories); a relative `path` is
 * taken from the first.
 *
 * @throws {@link RestorePointError} when it is outside the roots, missing, corrupt or not Freshet's
 */
export async function openRestorePoint(path: string, roots: readonly string[]): Promise<RestorePoint> {
  if (path.length === 0 || path.includes('\0')) throw new RestorePointError('the restore path is empty');
  const first = roots[0];
  if (first === undefined) throw new RangeError('openRestorePoint needs at least one root');
  const absolute = resolve(first, path);
  const inside = roots.some((r) => {
    const rel = relative(resolve(r), absolute);
    return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
  });
  if (!inside) {
    throw new RestorePointError(
      `'${path}' is outside the directories this JobManager restores from (${roots.map((r) => resolve(r)).join(', ')})`,
    );
  }
  const dir = basename(absolute) === SAVEPOINT_METADATA_FILE ? dirname(absolute) : absolute;
  const metadataPath = join(dir, SAVEPOINT_METADATA_FILE);
  let text: string;
  try {
    const info = await stat(metadataPath);
    if (!info.isFile() || info.size > 64 * 1024 * 1024) throw new Error('not a metadata file');
    text = await readFile(metadataPath, 'utf8');
  } catch {
    throw new RestorePointError(
      `'${path}' holds no savepoint or completed checkpoint (no readable ${SAVEPOINT_METADATA_FILE} in ${dir})`,
    );
  }
  let format: unknown;
  try {
    format = (JSON.parse(text) as { format?: unknown } | null)?.format;
  } catch {
    format = undefined;
  }
  if (format === CHECKPOINT_METADATA_FORMAT) {
    let checkpoint: CheckpointMetadata;
    try {
      checkpoint = parseCheckpointMetadata(text, metadataPath);
    } catch (error) {
      if (error instanceof CheckpointMetadataError) throw new RestorePointError(error.message);
      throw error;
    }
    // A checkpoint's handles are relative to its job's directory, the parent of chk-<N>.
    const base = dirname(dir);
    const byHandle = new Map<
      string,
      { state: { handle: string; pieces?: StatePiece[] | undefined }; where: string }
    >();
    for (const v of checkpoint.vertices)
      for (const st of v.subtasks)
        byHandle.set(st.handle, {
          state: st,
          where: subtaskStateName(checkpoint.checkpointId, v.id, st.subtask),
        });
    return {
      kind: 'checkpoint',
      path: dir,
      metadata: {
        ...checkpoint,
        format: SAVEPOINT_FORMAT,
        version: SAVEPOINT_VERSION,
        takenAt: checkpoint.completedAt,
        trigger: 'savepoint',
        vertices: checkpoint.vertices.map((v) => ({
          ...v,
          operators: v.operators.map((o) => ({
            nodeId: o.nodeId,
            name: o.name,
            uid: operatorUid(o),
            generatedUid: o.uid === undefined,
          })),
        })),
      },
      // A subtask's state, with the pieces of earlier checkpoints it refers to resolved into it.
      readState: (handle) => {
        const known = byHandle.get(handle);
        return readSubtaskState(known?.state ?? { handle }, (h) => readInside(base, h), known?.where);
      },
    };
  }
  const metadata = parseSavepointMetadata(text, metadataPath);
  return { kind: 'savepoint', path: dir, metadata, readState: (handle) => readInside(dir, handle) };
}

async function readInside(base: string, handle: string): Promise<Uint8Array> {
  const rel = normalize(handle);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`) || rel.includes(`${sep}..${sep}`)) {
    throw new RestorePointError(`state handle '${handle}' points outside the savepoint`);
  }
  try {
    return new Uint8Array(await readFile(join(base, rel)));
  } catch (error) {
    throw new RestorePointError(
      `state file ${join(base, rel)} of the savepoint cannot be read: ${(error as Error).message}`,
    );
  }
}

/** One part of a new subtask's restored state: one former subtask's snapshot, renumbered to the new plan. */
export interface RestorePart {
  /** Handle of the former subtask's state in the restore point. */
  handle: string;
  /** Former StreamNode id → new StreamNode id, for the operators of this part. */
  nodes: ReadonlyMap<number, number>;
  /**
   * Set when another new subtask owns the former subtask's split operator
   * state (a rescale gives a former subtask's snapshot to every new subtask
   * whose key groups overlap its own, but its pending commits, unacknowledged
   * records and in-flight requests must be restored once): the snapshot is
   * restored marked {@link OperatorSnapshot.copy}.
   */
  copy?: true;
}

/** How a restore point's state maps onto a new JobGraph. */
export interface StateAssignment {
  /** The restore point's checkpoint id (the new job's checkpoint ids continue after it). */
  checkpointId: number;
  /** By `vertexId#subtask` of the new graph: its parts (a subtask with none starts fresh) and whether it is final. */
  subtasks: Map<string, { parts: RestorePart[]; final: boolean }>;
  /** Uids of the new plan's operators that start without state. */
  fresh: string[];
  /** Uids of the restore point's operators that map to nothing (dropped: non-restored state was allowed). */
  dropped: string[];
  /** Operators that restored by a generated uid: their state will not survive a topology change. */
  generated: string[];
  /** What the user should know (generated uids, sources at another parallelism). */
  warnings: string[];
}

/**
 * Maps a restore point's state onto `jobGraph` by operator uid. A vertex at
 * another parallelism takes, per new subtask, every former subtask whose key
 * groups overlap its own (keyed state keeps only the key groups it owns); the
 * source operator at the head of a source vertex takes every former
 * subtask's state (connector sources keep the splits they own now; the
 * built-in ones restore only at their own parallelism).
 *
 * @throws {@link StateMappingError} when an operator of the restore point
 *   has no counterpart (unless `allowNonRestoredState`), or keyed state would
 *   have to move between different max parallelisms
 */
export function assignRestoredState(
  metadata: SavepointMetadata,
  jobGraph: JobGraph,
  options: { allowNonRestoredState?: boolean } = {},
): StateAssignment {
  const newByUid = new Map<string, { vertexIndex: number; nodeId: number }>();
  jobGraph.vertices.forEach((v, vertexIndex) => {
    for (const o of v.operators) newByUid.set(operatorUid(o), { vertexIndex, nodeId: o.nodeId });
  });
  const dropped: string[] = [];
  const generated: string[] = [];
  const matchedUids = new Set<string>();
  // Per new vertex: the former vertices feeding it and their node maps.
  const feeds = new Map<
    number,
    { old: SavepointMetadata['vertices'][number]; nodes: Map<number, number> }[]
  >();
  for (const ov of metadata.vertices) {
    const byTarget = new Map<number, Map<number, number>>();
    for (const o of ov.operators) {
      const target = newByUid.get(o.uid);
      if (target === undefined) {
        dropped.push(o.uid);
        continue;
      }
      matchedUids.add(o.uid);
      if (o.generatedUid) generated.push(o.uid);
      let nodes = byTarget.get(target.vertexIndex);
      if (nodes === undefined) byTarget.set(target.vertexIndex, (nodes = new Map<number, number>()));
      nodes.set(o.nodeId, target.nodeId);
    }
    for (const [vertexIndex, nodes] of byTarget) {
      const nv = jobGraph.vertices[vertexIndex]!;
      if (nv.parallelism !== ov.parallelism && nv.maxParallelism !== ov.maxParallelism) {
        throw new StateMappingError(
          `operator${nodes.size === 1 ? '' : 's'} ${[...nodes.keys()].map((n) => `'${ov.operators.find((o) => o.nodeId === n)!.uid}'`).join(', ')} of '${ov.name}' had max parallelism ${ov.maxParallelism} and now ${nv.maxParallelism}: keyed state cannot be redistributed between different numbers of key groups; keep the max parallelism (setMaxParallelism) or start without the savepoint`,
        );
      }
      let list = feeds.get(vertexIndex);
      if (list === undefined) feeds.set(vertexIndex, (list = []));
      list.push({ old: ov, nodes });
    }
  }
  if (dropped.length > 0 && options.allowNonRestoredState !== true) {
    throw new StateMappingError(
      `The savepoint holds state of operator${dropped.length === 1 ? '' : 's'} ${dropped.map((u) => `'${u}'`).join(', ')} that ${dropped.length === 1 ? 'is' : 'are'} not in the new job. Set the same uid on ${dropped.length === 1 ? 'it' : 'them'} (.uid('...')), or pass --allow-non-restored-state (allowNonRestoredState) to drop that state.`,
    );
  }
  const subtasks = new Map<string, { parts: RestorePart[]; final: boolean }>();
  jobGraph.vertices.forEach((nv, vertexIndex) => {
    const list = feeds.get(vertexIndex) ?? [];
    for (let s = 0; s < nv.parallelism; s++) {
      const parts: RestorePart[] = [];
      let final = list.length > 0;
      for (const { old, nodes } of list) {
        const same = old.parallelism === nv.parallelism;
        // A source at another parallelism gets every former subtask's source state (union
        // redistribution): it keeps its share of the splits or index runs left in all of them.
        const sourceNode = nv.isSource && !same ? sourceHeadMapping(old, nv, nodes) : undefined;
        for (const os of old.subtasks) {
          const role = restoreRole(old, os.subtask, nv, s);
          if (role === 'none') {
            if (sourceNode !== undefined) parts.push({ handle: os.handle, nodes: sourceNode });
            continue;
          }
          parts.push(
            role === 'owner' ? { handle: os.handle, nodes } : { handle: os.handle, nodes, copy: true },
          );
          // A final state finishes the subtask at once: only where nothing was redistributed.
          if (!os.final || !same) final = false;
        }
      }
      if (parts.length > 0) subtasks.set(executionKey(nv.id, s), { parts, final });
    }
  });
  const fresh = [...newByUid.keys()].filter((u) => !matchedUids.has(u));
  const warnings: string[] = [];
  if (generated.length > 0) {
    warnings.push(
      `operator${generated.length === 1 ? '' : 's'} ${generated.join(', ')} restored by a generated uid (no .uid(...) in the program): ${generated.length === 1 ? 'its' : 'their'} state will not survive a change of the job's topology`,
    );
  }
  return { checkpointId: metadata.checkpointId, subtasks, fresh, dropped, generated, warnings };
}

/**
 * The node map of a former source vertex restricted to its source (the
 * chain's head) when that maps to the new vertex's head; undefined when the
 * source itself was not kept.
 */
function sourceHeadMapping(
  old: SavepointMetadata['vertices'][number],
  nv: JobGraph['vertices'][number],
  nodes: ReadonlyMap<number, number>,
): Map<number, number> | undefined {
  const oldHead = old.operators[0]?.nodeId;
  const newHead = nv.operators[0]?.nodeId;
  if (oldHead === undefined || newHead === undefined || nodes.get(oldHead) !== newHead) return undefined;
  return new Map([[oldHead, newHead]]);
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** A vertex's layout: its parallelism and max parallelism. */
interface Layout {
  parallelism: number;
  maxParallelism: number;
}

/**
 * How former subtask `former` (of layout `old`) restores in new subtask
 * `subtask` (of layout `now`): not at all (no key group in common, or
 * another subtask at an unchanged parallelism), as the `owner` of its split
 * operator state (at an unchanged parallelism, or the one new subtask whose
 * key groups hold the former subtask's first key group), or as a `copy`
 * (keyed and broadcast state are valid in it; see {@link OperatorSnapshot.copy}).
 */
export function restoreRole(
  old: Layout,
  former: number,
  now: Layout,
  subtask: number,
): 'none' | 'owner' | 'copy' {
  if (old.parallelism === now.parallelism) return former === subtask ? 'owner' : 'none';
  const theirs = keyGroupRange(old.maxParallelism, old.parallelism, former);
  if (!overlaps(theirs, keyGroupRange(now.maxParallelism, now.parallelism, subtask))) return 'none';
  return subtaskForKeyGroup(theirs.start, now.maxParallelism, now.parallelism) === subtask ? 'owner' : 'copy';
}

/**
 * The bytes of one restore part: the former subtask's snapshot with only
 * the operators of `part.nodes`, renumbered to the new plan's node ids, and
 * each marked {@link OperatorSnapshot.copy} when the part is a copy.
 */
export function renumberSnapshot(bytes: Uint8Array, part: Pick<RestorePart, 'nodes' | 'copy'>): Uint8Array {
  const decoded = decodeSubtaskSnapshot(bytes);
  const out = new Map<number, OperatorSnapshot>();
  for (const [from, to] of part.nodes) {
    const snapshot = decoded.get(from);
    if (snapshot !== undefined) out.set(to, part.copy === true ? { ...snapshot, copy: true } : snapshot);
  }
  return encodeSubtaskSnapshot(out);
}

/** What `freshet savepoint inspect` shows of one subtask's state. */
export interface InspectedSubtask {
  subtask: number;
  bytes: number;
  final: boolean;
  /** Per operator uid: key groups with state, state names with their entry counts, and whether it has operator state. */
  operators: { uid: string; keyGroups: number; states: Record<string, number>; operatorState: boolean }[];
}

/** Decodes every state of a restore point for an inspection. */
export async function inspectRestorePoint(point: RestorePoint): Promise<
  {
    id: string;
    name: string;
    parallelism: number;
    maxParallelism: number;
    operators: SavepointOperator[];
    subtasks: InspectedSubtask[];
  }[]
> {
  const out = [];
  for (const v of point.metadata.vertices) {
    const subtasks: InspectedSubtask[] = [];
    for (const s of v.subtasks) {
      let decoded;
      try {
        decoded = decodeSubtaskSnapshot(await point.readState(s.handle));
      } catch (error) {
        if (error instanceof RestorePointError) throw error;
        throw new RestorePointError(
          `state ${s.handle} of ${point.path} is corrupt: ${(error as Error).message}`,
        );
      }
      subtasks.push({
        subtask: s.subtask,
        bytes: s.bytes,
        final: s.final,
        operators: v.operators.map((o) => {
          const snap = decoded.get(o.nodeId);
          const states: Record<string, number> = {};
          let keyGroups = 0;
          for (const data of Object.values(snap?.keyed ?? {})) {
            keyGroups++;
            const group = decodeKeyGroup(data);
            if (typeof group !== 'object' || group === null) continue;
            for (const [part, entries] of Object.entries(group as Record<string, unknown>)) {
              // User state is registered as `s:<descriptor name>`; timers and windows under their own names.
              const name = part.startsWith('s:') ? part.slice(2) : part;
              states[name] = (states[name] ?? 0) + (Array.isArray(entries) ? entries.length : 1);
            }
          }
          return { uid: o.uid, keyGroups, states, operatorState: snap?.operator !== undefined };
        }),
      });
    }
    out.push({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      operators: v.operators,
      subtasks,
    });
  }
  return out;
}
