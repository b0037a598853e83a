// Property-based fuzzing of the whole API: generated invalid inputs (wrong
// types, huge strings, NUL bytes, deep nesting, unknown ids) with generated
// credentials (none, forged, viewer, admin) go to every procedure of the
// AppRouter — enumerated from the router, so a new procedure is fuzzed too.
// No answer may be a 5xx, and the JobManager must be alive afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listProcedures, type ProcedureInfo } from '../src/router.js';
import { startInProcess, type InProcessJobManager } from './fixtures/in-process.js';

let jm: InProcessJobManager;
let viewer = '';
let admin = '';

beforeAll(async () => {
  jm = await startInProcess();
  viewer = (await jm.clientFor('viewer')).token;
  admin = (await jm.clientFor('admin')).token;
});

afterAll(async () => {
  await jm.dispose();
});

/** Nested arrays and objects, deeper than any schema expects. */
function deeplyNested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { jobId: value };
  return value;
}

const hostile = fc.oneof(
  fc.anything({ maxDepth: 4 }),
  fc.string({ maxLength: 50 }).map((s) => `${s}\u0000${s}`),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 50, max: 3_000 }).map(deeplyNested),
  fc.constantFrom(-1, 0, 2 ** 53, Number.NaN, 1e308, true, null, [], {}),
);

/** A 64-digit hex string (a bundle digest's shape). */
const hex64 = fc.string({
  unit: fc.constantFrom(...Array.from('0123456789abcdef')),
  minLength: 64,
  maxLength: 64,
});

/** An input shaped like the real ones (ids, names, numbers), with hostile values in the fields. */
const input = fc.oneof(
  hostile,
  fc.record(
    {
      jobId: fc.oneof(fc.uuid(), hostile),
      id: fc.oneof(fc.uuid(), hex64, hostile),
      artifactId: fc.oneof(hex64, hostile),
      name: hostile,
      role: fc.oneof(fc.constantFrom('viewer', 'developer', 'admin', 'root'), hostile),
      code: fc.oneof(fc.string(), hostile),
      parallelism: fc.oneof(fc.integer({ min: -10, max: 100_000 }), hostile),
      args: fc.oneof(fc.array(fc.string(), { maxLength: 5 }), hostile),
      taskManagerId: fc.oneof(fc.string({ maxLength: 20 }), hostile),
      token: fc.oneof(fc.string({ maxLength: 20 }), hostile),
      cursor: hostile,
      limit: hostile,
    },
    { requiredKeys: [] },
  ),
);

const credentials = fc.constantFrom<'none' | 'forged' | 'garbage' | 'viewer' | 'admin'>(
  'none',
  'forged',
  'garbage',
  'viewer',
  'admin',
);

function headersFor(who: string): Record<string, string> {
  switch (who) {
    case 'forged':
      return { authorization: 'Bearer fst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    case 'garbage':
      return { authorization: 'Bearer \u00ff\u00fe' };
    case 'viewer':
      return { authorization: `Bearer ${viewer}` };
    case 'admin':
      return { authorization: `Bearer ${admin}` };
    default:
      return {};
  }
}

/** Sends one call; returns the HTTP status, or for a subscription the status of its first event. */
async function send(p: ProcedureInfo, value: unknown, who: string): Promise<number> {
  let json: string;
  try {
    json = JSON.stringify(value) ?? 'null';
  } catch {
    json = '"unserializable"';
  }
  const headers = headersFor(who);
  // Header values must be Latin-1: a garbage token that fetch refuses to send is no request at all.
  if (who === 'garbage') headers.authorization = 'Bearer %FF%FE';
  if (p.type === 'mutation') {
    const res = await fetch(`${jm.url}/trpc/${p.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: json,
    });
    await res.arrayBuffer();
    return res.status;
  }
  const url = `${jm.url}/trpc/${p.path}?input=${encodeURIComponent(json)}`;
  if (p.type === 'query') {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return res.status;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => {
    abort.abort();
  }, 1_500);
  try {
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    });
    if (res.status !== 200) return res.status;
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/event: serialized-error|\ndata: [{"]/.test(text)) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      text += chunk;
    }
    return Number(/"httpStatus":(\d+)/.exec(text)?.[1] ?? 200);
  } catch (err) {
    if (abort.signal.aborted) return 200;
    throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe('the API under fuzzing', () => {
  it('never answers 5xx to generated invalid calls of any procedure, and stays alive', async () => {
    const procedures = listProcedures();
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...procedures), input, credentials, async (p, value, who) => {
        const status = await send(p, value, who);
        if (status >= 500)
          failures.push(`${p.path} as ${who} -> ${status}: ${JSON.stringify(value)?.slice(0, 300)}`);
        return status < 500;
      }),
      {
        numRuns: 400,
        interruptAfterTimeLimit: 30_000,
        seed: Number(process.env.FRESHET_FUZZ_SEED ?? Date.now() % 2 ** 31),
      },
    );
    expect(failures).toEqual([]);
    expect((await fetch(`${jm.url}/healthz`)).status).toBe(200);
    // No internal error reached the log either.
    expect(jm.logs.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
  }, 90_000);
});
