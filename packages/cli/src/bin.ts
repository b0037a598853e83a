#!/usr/bin/env node
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof Error && err.name === 'CliError') {
    process.stderr.write(`freshet: ${err.message}\n`);
    // Checked by name, not instanceof: errors may come from another realm (worker, child).
    process.exit('exitCode' in err && typeof err.exitCode === 'number' ? err.exitCode : 1);
  }
  throw err;
}
