import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spliceSettingsTables } from './markdown.js';
import { README_SECTIONS, README_URL } from './readme.js';

describe('README configuration tables', () => {
  it('are the ones generated from the settings (run pnpm docs:settings after changing a setting)', () => {
    const readme = readFileSync(README_URL, 'utf8');
    expect(spliceSettingsTables(readme, README_SECTIONS)).toBe(readme);
  });
});
