import { describe, expect, it } from 'vitest';
import { MAX_OUTPUT_LINE_CHARS } from '@freshet/protocol';
import { OutputCapture } from './output-capture.js';

describe('OutputCapture', () => {
  it('holds complete lines per stream, in order, and waits for the end of a partial one', () => {
    let t = 100;
    const capture = new OutputCapture({ now: () => t });
    capture.write('stdout', 'a\nb');
    capture.write('stderr', 'oops\r\n');
    t = 200;
    capture.write('stdout', 'c\n');
    capture.logStream().write('{"level":30,"msg":"hi"}\n');
    expect(capture.take()).toEqual({
      lines: [
        { stream: 'stdout', at: 100, text: 'a' },
        { stream: 'stderr', at: 100, text: 'oops' },
        { stream: 'stdout', at: 200, text: 'bc' },
        { stream: 'log', at: 200, text: '{"level":30,"msg":"hi"}' },
      ],
      dropped: 0,
    });
    expect(capture.pending).toBe(false);
  });

  it('is bounded: the oldest lines go, counted; long lines are cut; a batch is at most max lines', () => {
    const capture = new OutputCapture({ capacity: 3 });
    capture.write('stdout', '1\n2\n3\n4\n5\n');
    const first = capture.take(2);
    expect(first).toEqual({
      lines: [expect.objectContaining({ text: '3' }), expect.objectContaining({ text: '4' })],
      dropped: 2,
    });
    expect(capture.take().lines.map((l) => l.text)).toEqual(['5']);
    capture.write('stdout', `${'x'.repeat(MAX_OUTPUT_LINE_CHARS + 10)}\n`);
    const [long] = capture.take().lines;
    expect(long!.text).toHaveLength(MAX_OUTPUT_LINE_CHARS);
    expect(long!.text.endsWith('…')).toBe(true);
  });

  it('puts back a batch that was not sent, ahead of newer lines, as far as there is room', () => {
    const capture = new OutputCapture({ capacity: 3 });
    capture.write('stdout', 'a\nb\n');
    const batch = capture.take();
    capture.write('stdout', 'c\nd\n');
    capture.putBack(batch);
    // Room for one of the two put back: the newer one stays, the older is counted as dropped.
    expect(capture.take()).toEqual({
      lines: [
        expect.objectContaining({ text: 'b' }),
        expect.objectContaining({ text: 'c' }),
        expect.objectContaining({ text: 'd' }),
      ],
      dropped: 1,
    });
  });

  it('tees the process streams: writes still go out, and are held too, until restored', () => {
    const capture = new OutputCapture();
    const seen: string[] = [];
    const write = (chunk: string | Uint8Array): boolean => {
      seen.push(String(chunk));
      return true;
    };
    const streams = { stdout: { write }, stderr: { write } };
    capture.teeProcessStreams(streams);
    streams.stdout.write('printed 1\n');
    streams.stdout.write(Buffer.from('printed 2\n'));
    streams.stderr.write('oops\n');
    capture.restore();
    expect(streams.stdout.write).toBe(write);
    streams.stdout.write('after restore\n');
    expect(seen).toEqual(['printed 1\n', 'printed 2\n', 'oops\n', 'after restore\n']);
    expect(capture.take().lines.map((l) => `${l.stream}:${l.text}`)).toEqual([
      'stdout:printed 1',
      'stdout:printed 2',
      'stderr:oops',
    ]);
  });
});
