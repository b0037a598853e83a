// Uploading a program made of several files (a folder, a .zip, a .tar.gz)
// to a real JobManager process: they compile from a scratch
// directory confined to the project, give one artifact, plan, and report
// errors and refused entries by the project's own paths.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { packTar } from 'modern-tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, type JobManagerClient } from '../src/client.js';
import { adminClient, ensureBuilt, ProcessGroup } from '../src/testing.js';
import { codeOf, rejection } from './rejection.js';

const examples = resolve(import.meta.dirname, '../../../examples');
/** The WordCount example as a folder upload sees it: `examples/...` paths. */
const wordcount: Record<string, Buffer> = {
  'examples/args.ts': readFileSync(join(examples, 'args.ts')),
  'examples/wordcount/wordcount.ts': readFileSync(join(examples, 'wordcount/wordcount.ts')),
  'examples/package.json': Buffer.from(JSON.stringify({ name: 'my-examples', type: 'module' })),
};

function folderForm(files: Record<string, Buffer | string>, entry?: string): FormData {
  const form = new FormData();
  for (const [path, body] of Object.entries(files)) {
    form.append('files', new Blob([body]), path.split('/').pop());
    form.append('paths', path);
  }
  if (entry !== undefined) form.append('entry', entry);
  form.append('name', 'examples');
  return form;
}

function fileForm(bytes: Uint8Array, name: string, entry?: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  if (entry !== undefined) form.append('entry', entry);
  return form;
}

const group = new ProcessGroup();
let dataDir: string;
let client: JobManagerClient;

beforeAll(async () => {
  await ensureBuilt();
  const database = await group.createDatabase();
  dataDir = database.dataDir;
  const jm = await group.startJobManager({ ...database, args: ['--project-max-files', '50'] });
  client = adminClient(jm);
});
afterAll(async () => {
  await group.dispose();
});

describe('project uploads', () => {
  let artifactId: string;

  it('compiles a folder with relative imports and plans it', async () => {
    const uploaded = await client.artifacts.upload.mutate(
      folderForm(wordcount, 'examples/wordcount/wordcount.ts'),
    );
    expect(uploaded.deduplicated).toBe(false);
    expect(uploaded.artifact.fileName).toBe('examples/wordcount/wordcount.ts');
    artifactId = uploaded.artifact.id;
    const planned = await client.jobs.plan.mutate({ artifactId, args: ['--input', '/tmp/words.txt'] });
    expect(planned.jobGraph.vertices.map((v) => v.name).join(' ')).toContain('tokenize');
    // The scratch directory is gone once compiled.
    const projects = join(dataDir, 'artifacts', 'projects');
    expect(existsSync(projects) ? readdirSync(projects) : []).toEqual([]);
  });

  it('gives the same project as a .zip and a .tar.gz the same artifact', async () => {
    const zip = zipSync(
      Object.fromEntries(Object.entries(wordcount).map(([p, b]) => [p, new Uint8Array(b)])),
    );
    const fromZip = await client.artifacts.upload.mutate(
      fileForm(zip, 'examples.zip', 'wordcount/wordcount.ts'),
    );
    expect(fromZip).toMatchObject({ deduplicated: true, artifact: { id: artifactId } });
    const tar = await packTar(
      Object.entries(wordcount).map(([name, body]) => ({ header: { name, size: body.length }, body })),
    );
    const fromTar = await client.artifacts.upload.mutate(
      fileForm(gzipSync(tar), 'examples.tar.gz', 'wordcount/wordcount.ts'),
    );
    expect(fromTar.artifact.id).toBe(artifactId);
  });

  it('takes a package of the project’s own node_modules', async () => {
    const uploaded = await client.artifacts.upload.mutate(
      folderForm({
        'job/main.ts':
          "import { defineProgram } from '@freshet/api';\nimport shout from 'shout';\nexport default defineProgram((env) => { env.fromElements('a').map((s: string) => shout(s)).print(); });\n",
        'job/node_modules/shout/package.json': '{"name":"shout","main":"index.js","types":"index.d.ts"}',
        'job/node_modules/shout/index.js': 'module.exports = (s) => s.toUpperCase();\n',
        'job/node_modules/shout/index.d.ts': 'declare const shout: (s: string) => string;\nexport = shout;\n',
      }),
    );
    expect(uploaded.artifact.fileName).toBe('examples/main.ts');
    const planned = await client.jobs.plan.mutate({ artifactId: uploaded.artifact.id, args: [] });
    expect(planned.jobGraph.vertices.length).toBeGreaterThan(0);
  });

  it('points a type error in an imported file at that file of the project', async () => {
    const broken = {
      ...wordcount,
      'examples/args.ts': Buffer.from(
        `${wordcount['examples/args.ts']!.toString()}\nexport const oops: number = 'x';\n`,
      ),
    };
    const err = await rejection(
      client.artifacts.upload.mutate(folderForm(broken, 'examples/wordcount/wordcount.ts')),
    );
    expect(codeOf(err)).toBe('BAD_REQUEST');
    const [first] = diagnosticsOf(err);
    const line = broken['examples/args.ts'].toString().split('\n').length - 1;
    expect(first).toMatchObject({ file: 'args.ts', line, column: 14 });
    expect(first!.codeFrame).toContain("export const oops: number = 'x';");
  });

  it('refuses a project importing outside itself, and an archive entry that climbs out, naming it', async () => {
    // The scratch directory is <data-dir>/artifacts/projects/<random>/: this file is there, three levels up.
    writeFileSync(join(dataDir, 'secret.js'), "export default 'hunter2';\n");
    const outside = await rejection(
      client.artifacts.upload.mutate(
        folderForm({ 'p/main.ts': "import x from '../../../secret.js';\nexport default () => x;\n" }),
      ),
    );
    expect(JSON.stringify(outside)).not.toContain('hunter2');
    expect(diagnosticsOf(outside)[0]).toMatchObject({ file: 'main.ts', line: 1 });
    expect(diagnosticsOf(outside)[0]!.message).toContain('is outside the project');

    const evil = zipSync({ 'main.ts': new Uint8Array(), '../escape.ts': new Uint8Array([0x78]) });
    const refused = await rejection(client.artifacts.upload.mutate(fileForm(evil, 'evil.zip')));
    expect(codeOf(refused)).toBe('BAD_REQUEST');
    expect(refused.message).toBe(`evil.zip: entry "../escape.ts" climbs out of the project with '..'`);

    const many: Record<string, string> = {};
    for (let i = 0; i < 51; i++) many[`p/f${i}.ts`] = '';
    const tooMany = await rejection(client.artifacts.upload.mutate(folderForm(many)));
    expect(codeOf(tooMany)).toBe('PAYLOAD_TOO_LARGE');
    expect(tooMany.message).toContain('has more than 50 files');
  });

  it('asks for the entry when a project has several program files', async () => {
    const err = await rejection(client.artifacts.upload.mutate(folderForm({ 'p/a.ts': '', 'p/b.ts': '' })));
    expect(err.message).toBe('The project has 2 program files: name its entry (one of a.ts, b.ts)');
  });
});
