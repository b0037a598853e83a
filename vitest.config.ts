import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// One Vitest configuration for the whole repository: a project per workspace
// package, resolving sibling packages to their TypeScript sources through the
// "@freshet/source" export condition (no build needed for unit tests).
const dirs = ['packages', 'apps'].flatMap((group) =>
  readdirSync(group, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(group, d.name, 'package.json')))
    .map((d) => join(group, d.name)),
);

export default defineConfig({
  resolve: { conditions: ['@freshet/source'] },
  ssr: { resolve: { conditions: ['@freshet/source'] } },
  test: {
    projects: [
      ...dirs.map((dir) => ({
        extends: true as const,
        test: {
          name: dir.split('/')[1]!,
          root: dir,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          environment: 'node',
        },
      })),
      {
        extends: true as const,
        test: {
          name: 'examples',
          root: 'examples',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
