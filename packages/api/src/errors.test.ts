import { describe, expect, it } from 'vitest';
import { errorFromJSON, FreshetError, InvalidProgramError, type ErrorJSON } from '@freshet/errors';
import { ProgramDefinitionError } from './errors.js';
import { StreamExecutionEnvironment } from './index.js';

describe('ProgramDefinitionError', () => {
  it('is a Freshet error a program can catch by class', () => {
    let caught: unknown;
    try {
      new StreamExecutionEnvironment().setParallelism(0);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProgramDefinitionError);
    expect(caught).toBeInstanceOf(InvalidProgramError);
    expect(caught).toBeInstanceOf(FreshetError);
    expect(caught).toMatchObject({ name: 'ProgramDefinitionError', code: 'INVALID_PROGRAM' });
  });

  it('keeps its location and node through serialization', () => {
    const sent = new ProgramDefinitionError('bad node', { nodeId: 3 });
    const received = errorFromJSON(JSON.parse(JSON.stringify(sent)) as ErrorJSON);
    if (!(received instanceof ProgramDefinitionError)) throw new Error(`rebuilt as ${received.name}`);
    expect(received.nodeId).toBe(3);
    expect(received.location).toBe(sent.location);
    expect(received.location).toMatch(/errors\.test\.ts:\d+:\d+$/);
    expect(received.message).toBe('bad node');
  });
});
