#!/usr/bin/env node
import { ConfigError } from '@freshet/settings';
import { main } from './main.js';
import { RegistrationRejectedError } from './session.js';

try {
  await main(process.argv.slice(2));
} catch (err) {
  // Configuration mistakes and refusals get one clear line, not a stack trace.
  if (err instanceof ConfigError || err instanceof RegistrationRejectedError) {
    process.stderr.write(`freshet-taskmanager: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
