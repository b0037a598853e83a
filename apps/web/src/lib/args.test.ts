import { describe, expect, it } from 'vitest';
import { splitArgs } from './args';

describe('splitArgs', () => {
  it('splits on whitespace and keeps quoted spaces', () => {
    expect(splitArgs('  --rate 100   --name "my job" ')).toEqual(['--rate', '100', '--name', 'my job']);
    expect(splitArgs("--x 'a b' c\\ d")).toEqual(['--x', 'a b', 'c d']);
    expect(splitArgs('--empty ""')).toEqual(['--empty', '']);
    expect(splitArgs('')).toEqual([]);
  });
});
