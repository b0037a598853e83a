import { freshetEslint } from '@freshet/config/eslint';

export default freshetEslint({ root: import.meta.dirname });
