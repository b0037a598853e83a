/**
 * What an `artifacts.upload` form holds, read and checked: one program file,
 * one project archive, or the files of a folder (several `files` fields with
 * their relative `paths`). Field values go through zod; file names and paths
 * are only ever display text or checked project paths.
 */
import { extname } from 'node:path';
import { z } from 'zod';
import { InvalidInputError, PayloadTooLargeError } from '@freshet/errors';
import { archiveBaseName, archiveKindOf, readArchive } from './archive.js';
import {
  checkLayout,
  chooseEntry,
  formatBytes,
  ProjectTally,
  stripCommonFolder,
  type ProjectFile,
  type ProjectLimits,
} from './project-files.js';

/**
 * The upload's form, structurally: any `FormData` (Node's or the
 * browser's) fits, so the router's type does not depend on undici's.
 */
export interface ProgramUploadForm {
  get(name: string): unknown;
  getAll(name: string): unknown[];
}

/** A one-file program, or a project with its entry. */
export type Upload =
  | { kind: 'file'; fileName: string; bytes: Buffer }
  | { kind: 'project'; name: string; files: ProjectFile[]; entry: string };

/** Limits an upload is read under. */
export interface UploadLimits {
  /** Largest file (program or archive) or total of a folder's files, bytes (`--upload-limit-bytes`). */
  uploadLimitBytes: number;
  project: ProjectLimits;
}

const PROGRAM_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);

const TextField = z.string().max(1024, 'must be at most 1024 characters');
const FieldsSchema = z.object({
  entry: TextField.min(1, 'must not be empty').optional(),
  name: z.string().max(200, 'must be at most 200 characters').optional(),
  paths: z.array(TextField),
});

/**
 * The last path segment of a client-sent name (both `/` and `\` separate),
 * without control characters, at most 200 characters: what we display.
 */
export function displayFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const last = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const clean = last === '.' || last === '..' ? '' : last;
  return clean.length > 200 ? clean.slice(clean.length - 200) : clean;
}

function blobName(blob: Blob): string {
  return 'name' in blob && typeof blob.name === 'string' ? blob.name : '';
}

function stringField(form: ProgramUploadForm, name: string): string | undefined {
  const value = form.get(name);
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(`The form field '${name}' must be text`);
  return value;
}

function parseFields(form: ProgramUploadForm): z.infer<typeof FieldsSchema> {
  const paths = form.getAll('paths');
  if (paths.some((p) => typeof p !== 'string'))
    throw new InvalidInputError("The form fields 'paths' must be text");
  const parsed = FieldsSchema.safeParse({
    entry: stringField(form, 'entry'),
    name: stringField(form, 'name'),
    paths,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`The form field '${issue.path.join('.')}' ${issue.message}`);
  }
  return parsed.data;
}

function tooLarge(
  what: string,
  size: number,
  limit: number,
): PayloadTooLargeError<{ size: number; limit: number }> {
  return new PayloadTooLargeError(
    `${what} is ${formatBytes(size)}; the limit is ${formatBytes(limit)} (set --upload-limit-bytes)`,
    { details: { size, limit } },
  );
}

/**
 * Reads an upload form.
 *
 * @throws InvalidInputError for a form that is neither shape, an unsupported file or a bad entry
 * @throws UnsafeProjectError for an archive or folder entry that is refused, naming it
 * @throws PayloadTooLargeError over the upload or project limits
 */
export async function readUploadForm(form: ProgramUploadForm, limits: UploadLimits): Promise<Upload> {
  const fields = parseFields(form);
  const many = form.getAll('files');
  const file = form.get('file');
  if (many.length > 0) {
    if (file !== null && file !== undefined)
      throw new InvalidInputError("Send either 'file' or 'files', not both");
    return readFolder(many, fields, limits);
  }
  if (!(file instanceof Blob)) {
    throw new InvalidInputError(
      "Expected the program as a file in the form field 'file' (or a folder's files in 'files')",
    );
  }
  const rawName = blobName(file);
  const fileName = displayFileName(rawName);
  if (file.size > limits.uploadLimitBytes)
    throw tooLarge(`Program ${fileName}`, file.size, limits.uploadLimitBytes);
  const bytes = Buffer.from(await file.arrayBuffer());
  const archive = archiveKindOf(fileName, bytes.subarray(0, 4));
  if (archive !== undefined) {
    const files = await readArchive(archive, fileName, bytes, limits.project);
    return project(files, fields.entry, fields.name ?? archiveBaseName(fileName), fileName);
  }
  if (!PROGRAM_EXTENSIONS.has(extname(fileName).toLowerCase())) {
    throw new InvalidInputError(
      `Unsupported program file ${JSON.stringify(fileName || rawName)}: upload a .ts, .mts, .js or .mjs file, or a project as a folder, .zip or .tar.gz`,
    );
  }
  return { kind: 'file', fileName, bytes };
}

async function readFolder(
  blobs: unknown[],
  fields: z.infer<typeof FieldsSchema>,
  limits: UploadLimits,
): Promise<Upload> {
  if (fields.paths.length !== blobs.length) {
    throw new InvalidInputError(
      `A folder upload needs one 'paths' field per file: got ${blobs.length} files and ${fields.paths.length} paths`,
    );
  }
  const source =
    fields.name === undefined ? 'The uploaded files' : `The folder ${displayFileName(fields.name)}`;
  const tally = new ProjectTally(source, limits.project);
  let total = 0;
  const checked: { path: string; blob: Blob }[] = [];
  for (let i = 0; i < blobs.length; i++) {
    const blob = blobs[i];
    const name = fields.paths[i]!;
    if (!(blob instanceof Blob))
      throw new InvalidInputError(`The form field 'files' #${i + 1} (${name}) must be a file`);
    tally.add(name, blob.size);
    total += blob.size;
    if (total > limits.uploadLimitBytes)
      throw tooLarge(`${source} (at ${name})`, total, limits.uploadLimitBytes);
    checked.push({ path: tally.pathOf(name), blob });
  }
  const files: ProjectFile[] = [];
  for (const { path, blob } of checked) files.push({ path, bytes: Buffer.from(await blob.arrayBuffer()) });
  return project(files, fields.entry, fields.name, source);
}

function project(
  files: ProjectFile[],
  entry: string | undefined,
  name: string | undefined,
  source: string,
): Upload {
  if (files.length === 0) throw new InvalidInputError(`${source} holds no files`);
  const stripped = stripCommonFolder(checkLayout(files, source));
  const chosen = chooseEntry(stripped.files, entry, stripped.folder);
  const display = displayFileName(name ?? stripped.folder ?? '') || 'project';
  return { kind: 'project', name: display, files: stripped.files, entry: chosen };
}
