#!/usr/bin/env node
import { buildProgram } from './program.js';
import { CliError } from './output.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof Error && err.name === 'CliError') {
    process.stderr.write(`freshet: ${err.message}\n`);
    process.exit((err as CliError).exitCode);
  }
  throw err;
}
