import { describe, expect, it } from 'vitest';
import { RecordDecodeError, csv, jsonLines, textLines, type RecordFormat } from './formats.js';
import { splitsOf } from './file-source.js';

/** Decodes the records of `text` (split at newlines, as the reader would for these inputs). */
function decode<T>(format: RecordFormat<T>, text: string, state = {}): T[] {
  const buf = Buffer.from(text);
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  for (const line of text.split('\n')) {
    const n = Buffer.byteLength(line);
    starts.push(at);
    ends.push(at + n);
    at += n + 1;
  }
  const out: T[] = [];
  format.decoder(state).decode(buf, starts, ends, starts.length, out);
  return out;
}

describe('record formats', () => {
  it('text lines drop a trailing \\r', () => {
    const out: string[] = [];
    textLines().decoder({}).decode(Buffer.from('a\r\nb'), [0, 3], [2, 4], 2, out);
    expect(out).toEqual(['a', 'b']);
  });

  it('CSV with fixed columns, another delimiter and trimming; a bad row is named by its index', () => {
    const format = csv({ header: ['a', 'b'], delimiter: ';', trim: true });
    expect(decode(format, ' 1 ; x \n2;"y;z"')).toEqual([
      { a: '1', b: 'x' },
      { a: '2', b: 'y;z' },
    ]);
    const error = (() => {
      try {
        decode(format, '1;x\n2;y;extra');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RecordDecodeError);
    expect((error as RecordDecodeError).index).toBe(1);
    expect((error as Error).message).toMatch(/has 3 fields, the header 2/);
  });

  it('JSON lines through a parse function', () => {
    const format = jsonLines({ parse: (v) => (v as { n: number }).n * 2 });
    expect(decode(format, '{"n":1}\n{"n":4}')).toEqual([2, 8]);
  });
});

describe('splitsOf', () => {
  it('cuts a large splittable file into ranges whose last one reads to the end, and keeps CSV whole', () => {
    expect(
      splitsOf('/f', 250, 100, true).map((s) => [
        s.start,
        s.end === Number.MAX_SAFE_INTEGER ? 'end' : s.end,
        s.skipFirst,
      ]),
    ).toEqual([
      [0, 100, false],
      [100, 200, true],
      [200, 'end', true],
    ]);
    expect(splitsOf('/f', 250, 100, false)).toHaveLength(1);
  });
});
