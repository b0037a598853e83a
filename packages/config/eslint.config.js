// Shared ESLint flat config: typescript-eslint's strict type-checked presets,
// plus a package-boundary rule. `no-restricted-imports` below forbids deep
// imports into another workspace package (`@freshet/x/src/...`,
// `@freshet/x/dist/...`) and relative paths that climb into another package
// (`../../packages/...`): a package is used only through the entry points its
// package.json `exports`, so its internals can move without breaking others
// and every consumer gets the same (built or source) module.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** @param {{ root: string }} opts */
export function freshetEslint({ root }) {
  return tseslint.config(
    {
      ignores: [
        '**/dist/**',
        '**/.next/**',
        '**/generated/**',
        '**/node_modules/**',
        '**/*.config.{js,mjs,cjs,ts}',
        'scripts/**',
        '.ci/**',
        'e2e/artifacts/**',
        'bench/results/**',
        // Programs the planner's tests feed it, some broken on purpose (syntax and type errors).
        'packages/planner/test/fixtures/**',
      ],
    },
    js.configs.recommended,
    ...tseslint.configs.strictTypeChecked,
    {
      languageOptions: {
        parserOptions: { projectService: true, tsconfigRootDir: root },
      },
      rules: {
        '@typescript-eslint/restrict-template-expressions': [
          'error',
          { allowNumber: true, allowBoolean: true },
        ],
        '@typescript-eslint/no-unnecessary-condition': 'off',
        '@typescript-eslint/no-non-null-assertion': 'off',
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        '@typescript-eslint/no-extraneous-class': 'off',
        '@typescript-eslint/no-invalid-void-type': 'off',
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: ['@freshet/*/src/*', '@freshet/*/dist/*'],
                message: 'Import another package through its exports, not its internals.',
              },
              {
                group: ['../../packages/*', '../../../packages/*', '../../apps/*', '../../../apps/*'],
                message: 'Cross-package relative imports are not allowed; use the package name.',
              },
            ],
          },
        ],
      },
    },
    {
      files: ['**/*.test.ts', '**/*.itest.ts', 'e2e/**/*.ts'],
      rules: {
        '@typescript-eslint/no-floating-promises': 'off',
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
      },
    },
  );
}
