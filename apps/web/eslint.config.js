// The shared type-checked config plus React's hooks rules and Next's own rules.
import nextPlugin from '@next/eslint-plugin-next';
import reactHooks from 'eslint-plugin-react-hooks';
import { freshetEslint } from '@freshet/config/eslint';

export default [
  ...freshetEslint({ root: import.meta.dirname }),
  { ignores: ['next-env.d.ts'] },
  reactHooks.configs.flat.recommended,
  nextPlugin.configs.recommended,
  nextPlugin.configs['core-web-vitals'],
];
