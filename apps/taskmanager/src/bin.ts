#!/usr/bin/env node
import { main } from './main.js';

try {
  await main(process.argv.slice(2));
} catch (err) {
  // Configuration mistakes and refusals get one clear line, not a stack trace.
  if (err instanceof Error && (err.name === 'ConfigError' || err.name === 'RegistrationRejectedError')) {
    process.stderr.write(`freshet-taskmanager: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
