import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputTag } from '@freshet/api';
import { API_SHIM_SOURCE } from './api-global.js';
import { loadProgram, ProgramLoadError } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'freshet-load-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A hand-written stand-in for an esbuild bundle: the shim, then a program using it. */
function writeBundle(name: string, body: string): string {
  const path = join(dir, name);
  const shim = `const __api = (() => { const module = { exports: {} }; ${API_SHIM_SOURCE}; return module.exports; })();\n`;
  writeFileSync(path, shim + body);
  return path;
}

describe('loadProgram', () => {
  it("imports a bundle that shares the host's @freshet/api classes", async () => {
    const path = writeBundle('shares.mjs', "export default () => new __api.OutputTag('late');\n");
    const program = await loadProgram(path);
    const tag = (program as unknown as () => unknown)();
    expect(tag).toBeInstanceOf(OutputTag);
    expect((tag as OutputTag<unknown>).id).toBe('late');
  });

  it('rejects a bundle without a default export function', async () => {
    const path = writeBundle('nodefault.mjs', 'export const x = 1;\n');
    await expect(loadProgram(path)).rejects.toThrow(ProgramLoadError);
    await expect(loadProgram(path)).rejects.toThrow(/no default export function/);
  });
});
