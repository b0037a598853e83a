/**
 * `freshet bundle PROGRAM -o FILE.mjs`: compile and type-check a program
 * here, with every file and package it imports (but `@freshet/api`, which
 * the host provides), into one ES module that uploads as a program on its
 * own — the dashboard's Submit page, `artifacts.upload`, `freshet submit`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, printJson } from '../output.js';
import { bundleProgram } from './upload.js';

/** Options of `freshet bundle`. */
interface BundleCommandOptions {
  output: string;
  json?: boolean;
}

/** Writes the bundle of `file` to `output`; returns its size in bytes. */
export async function writeBundle(file: string, output: string): Promise<{ output: string; bytes: number }> {
  if (!/\.m?js$/i.test(output))
    throw new CliError(`The bundle is an ES module: name it .mjs or .js, not ${output}`, 2);
  const { code } = await bundleProgram(file);
  const target = resolve(output);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, code);
  return { output: target, bytes: Buffer.byteLength(code) };
}

/** Registers `freshet bundle`. */
export function register(program: Command): void {
  program
    .command('bundle')
    .description('Compile a program and everything it imports into one .mjs file to upload')
    .argument('<program>', 'program file (.ts, .mts, .js or .mjs)')
    .requiredOption('-o, --output <file>', 'where to write the bundle (.mjs)')
    .option('--json', 'print JSON instead of text')
    .addHelpText('after', '\nExample:\n  freshet bundle examples/wordcount/wordcount.ts -o wordcount.mjs')
    .action(async (file: string, opts: BundleCommandOptions) => {
      const written = await writeBundle(file, opts.output);
      if (opts.json) printJson(written);
      else process.stdout.write(`Wrote ${written.output} (${written.bytes} bytes)\n`);
    });
}
