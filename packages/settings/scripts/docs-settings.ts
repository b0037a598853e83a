/**
 * `pnpm docs:settings`: writes the JobManager's and TaskManager's settings
 * tables into the repository README, between their marker comments. The
 * test `src/readme.test.ts` fails while the README differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spliceSettingsTables } from '../src/markdown.js';
import { README_SECTIONS, README_URL } from '../src/readme.js';

const before = readFileSync(README_URL, 'utf8');
const after = spliceSettingsTables(before, README_SECTIONS);
if (after === before) {
  process.stdout.write(`${fileURLToPath(README_URL)} is up to date\n`);
} else {
  writeFileSync(README_URL, after);
  process.stdout.write(`Updated the settings tables in ${fileURLToPath(README_URL)}\n`);
}
