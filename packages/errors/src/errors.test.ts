import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import vm from 'node:vm';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  defineErrorClass,
  errorFromJSON,
  errorToJSON,
  FreshetError,
  InvalidInputError,
  NotFoundError,
  type ErrorJSON,
} from './index.js';

/** A subclass with details and getters over them, as the packages declare theirs. */
class SlotsMissingError extends ConflictError<{ needed: number; free: number }> {
  static {
    defineErrorClass(this, 'SlotsMissingError', 'CONFLICT');
  }
  constructor(needed: number, free: number, cause?: unknown) {
    super(`Need ${needed} slots, ${free} free`, { details: { needed, free }, cause });
  }
  get needed(): number {
    return this.details.needed;
  }
}

/**
 * Loads a second copy of `freshet-error.ts` into a fresh `vm` realm (its own
 * `Error`, `Object`, `Function`), as a worker thread or a second install of
 * the package would have.
 */
function otherRealm(): vm.Context {
  const source = readFileSync(new URL('./freshet-error.ts', import.meta.url), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const context = vm.createContext({ exports: {} });
  vm.runInContext(js, context);
  vm.runInContext('Object.assign(globalThis, exports)', context);
  return context;
}

describe('FreshetError', () => {
  it('has a stable name, a code, details and a cause', () => {
    const cause = new Error('disk full');
    const err = new SlotsMissingError(4, 1, cause);
    expect(err.name).toBe('SlotsMissingError');
    expect(err.code).toBe('CONFLICT');
    expect(err.details).toEqual({ needed: 4, free: 1 });
    expect(err.needed).toBe(4);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('Need 4 slots, 1 free');
    expect(err.stack).toMatch(/^SlotsMissingError: Need 4 slots, 1 free\n/);
    expect(String(err)).toBe('SlotsMissingError: Need 4 slots, 1 free');
  });

  it('is an instance of its branded ancestors and of nothing else', () => {
    const err = new SlotsMissingError(1, 0);
    expect(err).toBeInstanceOf(SlotsMissingError);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toBeInstanceOf(FreshetError);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect(new ConflictError('x')).not.toBeInstanceOf(SlotsMissingError);
    expect({ name: 'ConflictError', code: 'CONFLICT' }).not.toBeInstanceOf(ConflictError);
  });

  it('takes a code override and defaults to the class code', () => {
    expect(new InvalidInputError('bad').code).toBe('INVALID_INPUT');
    expect(new FreshetError('bug').code).toBe('INTERNAL');
    expect(new FreshetError('gone', { code: 'NOT_FOUND' }).code).toBe('NOT_FOUND');
  });

  it('answers instanceof for an error made in another realm by another copy of the class', () => {
    const realm = otherRealm();
    const foreign: unknown = vm.runInContext(
      `class NotFoundError extends FreshetError {
         static { defineErrorClass(this, 'NotFoundError', 'NOT_FOUND'); }
       }
       new NotFoundError('No job with id "j1"')`,
      realm,
    );
    // Plain prototype identity fails across realms; the brand does not.
    expect(foreign instanceof Error).toBe(false);
    expect(foreign).toBeInstanceOf(NotFoundError);
    expect(foreign).toBeInstanceOf(FreshetError);
    expect(foreign).not.toBeInstanceOf(ConflictError);
    expect((foreign as NotFoundError).code).toBe('NOT_FOUND');
  });
});

describe('errorToJSON and errorFromJSON', () => {
  it('rebuild the class, code, details, stack and cause after postMessage', async () => {
    const sent = new SlotsMissingError(4, 1, new TypeError('boom'));
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<ErrorJSON>((resolve) => {
      port2.once('message', (data: ErrorJSON) => {
        resolve(data);
      });
    });
    port1.postMessage(sent.toJSON());
    const data = await received;
    port1.close();
    const typed = errorFromJSON(data);
    if (!(typed instanceof SlotsMissingError)) throw new Error(`rebuilt as ${typed.name}`);
    expect(typed).not.toBe(sent);
    expect(typed.name).toBe('SlotsMissingError');
    expect(typed.code).toBe('CONFLICT');
    expect(typed.message).toBe('Need 4 slots, 1 free');
    expect(typed.needed).toBe(4);
    expect(typed.stack).toBe(sent.stack);
    expect(typed.cause).toBeInstanceOf(TypeError);
    expect((typed.cause as Error).message).toBe('boom');
  });

  it('rebuild an error sent by another process as JSON', async () => {
    // The child serializes with this package and sends over a JSON IPC channel, as the plan child does.
    const script = `
      import { NotFoundError } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};
      process.send(new NotFoundError('No artifact with id "abc"', { details: { id: 'abc' } }).toJSON(), () => process.exit(0));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const data = await new Promise<ErrorJSON>((resolve, reject) => {
      child.once('message', (m) => {
        resolve(m as ErrorJSON);
      });
      child.once('exit', (code) => {
        reject(new Error(`child exited with ${code} before sending`));
      });
    });
    const rebuilt = errorFromJSON(data);
    expect(rebuilt).toBeInstanceOf(NotFoundError);
    expect(rebuilt).toMatchObject({ name: 'NotFoundError', code: 'NOT_FOUND', details: { id: 'abc' } });
    expect(rebuilt.stack).toContain('NotFoundError: No artifact with id "abc"');
  });

  it('rebuild an unknown Freshet class as its kind, keeping its name', () => {
    const rebuilt = errorFromJSON({ name: 'JobGoneError', code: 'NOT_FOUND', message: 'gone' });
    expect(rebuilt).toBeInstanceOf(NotFoundError);
    expect(rebuilt.name).toBe('JobGoneError');
    const internal = errorFromJSON({ name: 'OddError', code: 'INTERNAL', message: 'odd' });
    expect(internal).toBeInstanceOf(FreshetError);
    expect(internal).toMatchObject({ name: 'OddError', code: 'INTERNAL' });
  });

  it('keep plain and built-in errors plain', () => {
    const json = errorToJSON(new RangeError('too far'));
    expect(json).toMatchObject({ name: 'RangeError', message: 'too far' });
    expect(json.code).toBeUndefined();
    const rebuilt = errorFromJSON(json);
    expect(rebuilt).toBeInstanceOf(RangeError);
    expect(rebuilt).not.toBeInstanceOf(FreshetError);
    expect(errorToJSON('just text')).toEqual({ name: 'Error', message: 'just text' });
    const custom = errorFromJSON({ name: 'AbortError', message: 'stopped' });
    expect(custom).toBeInstanceOf(Error);
    expect(custom.name).toBe('AbortError');
  });

  it('stop at a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    let depth = 0;
    for (let j: ErrorJSON | undefined = errorToJSON(a); j; j = j.cause) depth++;
    expect(depth).toBe(9);
  });
});
