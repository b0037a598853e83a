import { describe, expect, it } from 'vitest';
import { OutputTails } from './tail.js';

describe('OutputTails', () => {
  it('keeps the newest records of a job, numbered, and tells a reader what it missed', () => {
    const tails = new OutputTails({ recordsPerJob: 4, now: () => 1000 });
    tails.push('j', 'counts', [{ word: 'a' }, { word: 'b' }]);
    const first = tails.read('j');
    expect(first.records.map((r) => r.text)).toEqual(['{"word":"a"}', '{"word":"b"}']);
    expect(first).toMatchObject({ latestSeq: 2, dropped: 0, sinks: ['counts'], capacity: 4 });
    expect(first.records[0]).toEqual({ seq: 1, sink: 'counts', at: 1000, text: '{"word":"a"}' });

    tails.push('j', 'alerts', [1, 2, 3, 4, 5]);
    // The reader saw up to 2; 3..7 were written and only 4..7 are held.
    const next = tails.read('j', first.latestSeq);
    expect(next.records.map((r) => r.seq)).toEqual([4, 5, 6, 7]);
    expect(next.dropped).toBe(1);
    expect(next.sinks).toEqual(['alerts', 'counts']);
    expect(tails.read('j', 7).records).toEqual([]);
    expect(tails.read('j', 0, 10, 'alerts').records.map((r) => r.text)).toEqual(['2', '3', '4', '5']);
  });

  it('formats only what it can keep, cuts long records and bounds the number of jobs', () => {
    const tails = new OutputTails({ recordsPerJob: 3, maxJobs: 2, maxRecordChars: 5 });
    tails.push(
      'a',
      's',
      Array.from({ length: 100_000 }, (_, i) => i),
    );
    expect(tails.read('a').records.map((r) => r.seq)).toEqual([99_998, 99_999, 100_000]);
    tails.push('b', 's', ['a long string']);
    expect(tails.read('b').records[0]!.text).toBe('"a lo…');
    tails.push('a', 's', [1]);
    tails.push('c', 's', [1]);
    // b was written least recently.
    expect([tails.has('a'), tails.has('b'), tails.has('c')]).toEqual([true, false, true]);
  });
});

describe('OutputTails.pushText', () => {
  it('keeps lines as they are, each with its own time, cut to the line limit', () => {
    const tails = new OutputTails({ recordsPerJob: 3, maxRecordChars: 8 });
    tails.pushText('tm-1:out', 'stdout', [
      { text: 'hello "world"', at: 5 },
      { text: 'two', at: 6 },
    ]);
    tails.pushText('tm-1:out', 'stderr', [
      { text: 'oops', at: 7 },
      { text: 'four', at: 8 },
    ]);
    const page = tails.read('tm-1:out');
    expect(page.records).toEqual([
      { seq: 2, sink: 'stdout', at: 6, text: 'two' },
      { seq: 3, sink: 'stderr', at: 7, text: 'oops' },
      { seq: 4, sink: 'stderr', at: 8, text: 'four' },
    ]);
    expect(tails.read('tm-1:out', 0, 10, 'stdout').records.map((r) => r.text)).toEqual(['two']);
    tails.pushText('tm-1:out', 'stdout', [{ text: 'hello "world"', at: 9 }]);
    expect(tails.read('tm-1:out', 4).records[0]!.text).toBe('hello "w…');
  });
});

describe('OutputTails.lineSink', () => {
  it('takes a logger’s lines without their newlines, the newest kept', () => {
    const tails = new OutputTails({ recordsPerJob: 2, maxJobs: 1, now: () => 42 });
    const sink = tails.lineSink('jobmanager:log', 'log');
    sink.write('{"msg":"one"}\n');
    sink.write('{"msg":"two"}\n');
    sink.write('{"msg":"three"}\n');
    expect(tails.read('jobmanager:log').records).toEqual([
      { seq: 2, sink: 'log', at: 42, text: '{"msg":"two"}' },
      { seq: 3, sink: 'log', at: 42, text: '{"msg":"three"}' },
    ]);
  });
});
