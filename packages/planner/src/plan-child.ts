/**
 * The plan child: a short-lived Node process started by `planInSandbox`. It
 * waits for one request on its IPC channel, runs the program's plan
 * (`loadStreamGraph`), replies with the StreamGraph JSON or the program's
 * error, and exits. It runs isolated (see `isolation.ts`) with an empty
 * environment and a small heap; the parent enforces the time and memory limits.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { streamGraphToJson } from '@freshet/graph';
import { errorToJSON, type ErrorJSON } from '@freshet/errors';
import { loadStreamGraph } from '@freshet/runtime';
import type { ChildReply, ChildRequest } from './child-protocol.js';

function send(reply: ChildReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      resolve();
      return;
    }
    process.send(reply, undefined, {}, () => {
      resolve();
    });
  });
}

/** The program's error as data: Freshet errors keep their code and details (a ProgramDefinitionError its location). */
function describe(err: unknown): ErrorJSON {
  if (err instanceof Error) return errorToJSON(err);
  return { name: 'Error', message: `Program threw a non-error value: ${String(err)}` };
}

async function handle(request: ChildRequest): Promise<void> {
  let reply: ChildReply;
  try {
    const bundlePath = join(request.workDir, 'program.mjs');
    await writeFile(bundlePath, request.bundleSource);
    const graph = await loadStreamGraph({ bundlePath, args: request.args, ...request.overrides });
    reply = { type: 'graph', graph: streamGraphToJson(graph) };
  } catch (err) {
    reply = { type: 'error', error: describe(err) };
  }
  try {
    await send(reply);
  } catch (err) {
    await send({
      type: 'error',
      error: { name: 'PlanError', message: `The plan could not be sent back: ${describe(err).message}` },
    });
  }
  process.exit(0);
}

process.once('message', (message: ChildRequest) => {
  void handle(message);
});
process.once('disconnect', () => process.exit(0));
await send({ type: 'ready' });
