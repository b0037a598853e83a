/**
 * Where this TaskManager runs user code, from its settings: by default a
 * sandboxed child process per deployment (`@freshet/runtime`'s
 * `processSlots`), which sees none of the TaskManager's directories and
 * none of its environment.
 */
import { dirname, join } from 'node:path';
import { describeTaskSandbox, processSlots, threadSlots, type SlotLauncher } from '@freshet/runtime';
import type { TaskManagerConfig } from '@freshet/settings';

/** The slot launcher of `config`, and one line for the start-up log. */
export function taskSandbox(
  config: TaskManagerConfig,
  dataDir: string,
  cwd: string = process.cwd(),
): { launcher: SlotLauncher; description: string } {
  if (config.taskIsolation === 'threads') {
    return {
      launcher: threadSlots({ maxOldGenerationSizeMb: config.slotHeapMiB }),
      description: 'worker threads of the TaskManager process (no isolation: --task-isolation threads)',
    };
  }
  const isolation = config.taskIsolation;
  const network = config.taskNetwork === 'host';
  // What the TaskManager keeps: its bundles, and where a join secret may lie.
  const hide = [dataDir, join(cwd, '.freshet')];
  if (config.joinSecretFile !== undefined) hide.push(dirname(config.joinSecretFile));
  return {
    launcher: processSlots({
      isolation,
      network,
      files: config.taskFiles,
      // Spilled BATCH input goes to disk, not to the sandbox's small /tmp tmpfs.
      spillDir: join(dataDir, 'work', 'spill'),
      hide,
      heapMiBPerSlot: config.slotHeapMiB,
      ...(config.taskMemoryMiB === undefined ? {} : { memoryMiB: config.taskMemoryMiB }),
      watchdogMs: config.taskWatchdogMs,
    }),
    description: describeTaskSandbox({ isolation, network }),
  };
}
