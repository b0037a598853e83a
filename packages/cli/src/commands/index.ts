import type { Command } from 'commander';
import { register as registerPlan } from './plan.js';
import { register as registerRun } from './run.js';
import { register as registerNexmark } from './nexmark.js';
import { register as registerBench } from './bench.js';
import { register as registerJobManager } from './jobmanager.js';
import { register as registerTaskManager } from './taskmanager.js';
import { register as registerCluster } from './cluster.js';
import { register as registerSubmit } from './submit.js';
import { register as registerList } from './list.js';
import { register as registerCancel } from './cancel.js';
import { register as registerTaskManagers } from './taskmanagers.js';
import { register as registerCheckpoints } from './checkpoints.js';
import { register as registerSavepoint } from './savepoint.js';
import { register as registerToken } from './token.js';
import { register as registerBundle } from './bundle.js';

/**
 * Registers every subcommand on the root program. Each command module exports
 * one `register(program)` function; add new ones to the list below.
 */
export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}

const registrations: ((program: Command) => void)[] = [
  registerPlan,
  registerRun,
  registerNexmark,
  registerBench,
  registerJobManager,
  registerTaskManager,
  registerSubmit,
  registerList,
  registerCancel,
  registerCheckpoints,
  registerSavepoint,
  registerTaskManagers,
  registerCluster,
  registerToken,
  registerBundle,
];
