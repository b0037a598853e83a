#!/usr/bin/env node
import { ConfigError } from '@freshet/settings';
import { main } from './main.js';

try {
  await main(process.argv.slice(2));
} catch (err) {
  // Configuration mistakes get one clear line, not a stack trace.
  if (err instanceof ConfigError) {
    process.stderr.write(`freshet-jobmanager: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
