import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bwrapArgs, detectIsolation, fsGrants } from './isolation.js';

const isolation = detectIsolation('auto');
const tree = mkdtempSync(join(tmpdir(), 'freshet-isolation-tree-'));
// Readable by the sandbox's user, as an installed package tree is (mkdtemp makes it 0700).
chmodSync(tree, 0o755);
const hidden = join(tree, '.freshet');
afterAll(() => {
  rmSync(tree, { recursive: true, force: true });
});

/** Runs `code` with Node inside bubblewrap over `tree` as the package tree; its stdout. */
function inSandbox(code: string): { status: number | null; stdout: string } {
  const r = spawnSync(isolation.bwrap!, [...bwrapArgs(tree, [hidden]), '--', process.execPath, '-e', code], {
    env: {},
    encoding: 'utf8',
    timeout: 10_000,
    ...(isolation.runAs ?? {}),
  });
  return { status: r.status, stdout: r.stdout.trim() || r.stderr.trim() };
}

describe.skipIf(isolation.bwrap === undefined)('bubblewrap arguments', () => {
  it('keep a package tree that lives under the host /tmp visible, read-only, over the private /tmp', () => {
    writeFileSync(join(tree, 'module.js'), 'ok');
    rmSync(hidden, { recursive: true, force: true });
    mkdirSync(hidden);
    writeFileSync(join(hidden, 'secret'), 's3cret');
    const read = inSandbox(
      `const fs = require('fs'); process.stdout.write(fs.readFileSync(${JSON.stringify(join(tree, 'module.js'))}, 'utf8'))`,
    );
    expect(read).toEqual({ status: 0, stdout: 'ok' });
    const write = inSandbox(
      `try { require('fs').writeFileSync(${JSON.stringify(join(tree, 'x'))}, 'x'); console.log('wrote') } catch (e) { console.log(e.code) }`,
    );
    expect(write.stdout).toBe('EROFS');
    const secret = inSandbox(
      `try { console.log(require('fs').readFileSync(${JSON.stringify(join(hidden, 'secret'))}, 'utf8')) } catch (e) { console.log(e.code) }`,
    );
    expect(secret.stdout).toBe('ENOENT');
  });
});

describe.skipIf(isolation.permissionFlag === undefined)('permission-model grants', () => {
  it('name each directory once, so Node starts when a work directory is also a granted one', () => {
    const grants = fsGrants([tree, tmpdir(), `${tmpdir()}/`], [tmpdir(), tmpdir()]);
    expect(grants).toEqual([
      `--allow-fs-read=${tree}`,
      `--allow-fs-read=${tmpdir()}`,
      `--allow-fs-write=${tmpdir()}`,
    ]);
    const r = spawnSync(
      process.execPath,
      [isolation.permissionFlag!, ...grants, '-e', 'process.stdout.write("up")'],
      {
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'up' });
  });
});

describe.skipIf(isolation.bwrap === undefined)('a read-write directory around the package tree', () => {
  it('leaves the package tree read-only and the rest of the directory writable', () => {
    const r = spawnSync(
      isolation.bwrap!,
      [
        ...bwrapArgs(tree, [], { binds: [tmpdir()] }),
        '--',
        process.execPath,
        '-e',
        `const fs = require('fs');
         const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); fs.rmSync(p); return 'ok' } catch (e) { return e.code } };
         process.stdout.write(tryWrite(${JSON.stringify(join(tree, 'y'))}) + ' ' + tryWrite(${JSON.stringify(join(tmpdir(), `freshet-isolation-${process.pid}`))}))`,
      ],
      { env: {}, encoding: 'utf8', timeout: 10_000 },
    );
    expect(r.stdout.trim() || r.stderr).toBe('EROFS ok');
  });
});

describe.skipIf(isolation.bwrap === undefined)('a read-write directory inside a hidden one', () => {
  it('is writable over the hidden directory’s tmpfs, while the rest of the hidden directory stays hidden', () => {
    // A job's spill directory under the TaskManager's (hidden) data directory, with --task-files around both.
    const dataDir = join(tree, 'data');
    const spill = join(dataDir, 'work', 'spill', 'job-1');
    mkdirSync(spill, { recursive: true });
    writeFileSync(join(dataDir, 'admin-token'), 'secret');
    const r = spawnSync(
      isolation.bwrap!,
      [
        ...bwrapArgs(tree, [dataDir], { binds: [tree, spill] }),
        '--',
        process.execPath,
        '-e',
        `const fs = require('fs');
         let token; try { token = fs.readFileSync(${JSON.stringify(join(dataDir, 'admin-token'))}, 'utf8') } catch (e) { token = e.code }
         fs.writeFileSync(${JSON.stringify(join(spill, 'run-0.bin'))}, 'x');
         process.stdout.write(token)`,
      ],
      // As the job process runs under bubblewrap: as the TaskManager's user (uid 65534 inside the namespace).
      { env: {}, encoding: 'utf8', timeout: 10_000 },
    );
    expect(r.stdout.trim() || r.stderr).toBe('ENOENT');
    expect(readFileSync(join(spill, 'run-0.bin'), 'utf8')).toBe('x');
  });
});
