#!/usr/bin/env node
import { CliError } from './output.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // instanceof is brand-based (@freshet/errors): it holds for errors from another realm too.
  if (err instanceof CliError) {
    process.stderr.write(`freshet: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
}
