/**
 * Class data sharing for the broker JVM: the first broker that runs without an
 * archive writes the classes it loaded to one when it exits
 * (`-XX:ArchiveClassesAtExit`); later JVMs map it (`-XX:SharedArchiveFile`)
 * and start about a second sooner, with less CPU. An archive from another JDK
 * build or classpath is ignored by the JVM with a warning, never an error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The JVM flags of one broker run and what to do once it has exited. */
export interface ClassDataSharing {
  /** Flags for the broker JVM. */
  readonly brokerArgs: readonly string[];
  /** Flags for short-lived tool JVMs (the storage formatter): use an archive, never write one. */
  readonly toolArgs: readonly string[];
  /**
   * Publishes the archive the broker wrote, if it wrote one, or drops it when
   * `cleanExit` is false (the JVM was SIGKILLed, perhaps in mid-write). Call
   * after the JVM exited.
   */
  finish(cleanExit: boolean): Promise<void>;
}

/**
 * Plans class data sharing around the archive at `archive` (beside the jars it
 * was made from). A new archive is first written into `brokerDir`, the
 * broker's own directory: when the broker is stopped by its watchdog rather
 * than `stop()`, it goes away with that directory instead of lingering in the
 * cache.
 */
export function classDataSharing(archive: string, brokerDir: string): ClassDataSharing {
  if (existsSync(archive)) {
    const args = [`-XX:SharedArchiveFile=${archive}`];
    return { brokerArgs: args, toolArgs: args, finish: () => Promise.resolve() };
  }
  const written = join(brokerDir, 'classes.jsa');
  return {
    brokerArgs: [`-XX:ArchiveClassesAtExit=${written}`],
    toolArgs: [],
    async finish(cleanExit) {
      if (!existsSync(written)) return;
      if (!cleanExit) {
        await rm(written, { force: true });
        return;
      }
      // Copied (the cache may be on another file system) under a private
      // name, then renamed: a concurrent reader never maps a partial archive.
      const staging = `${archive}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await copyFile(written, staging);
        await rename(staging, archive);
      } finally {
        await rm(staging, { force: true });
      }
    },
  };
}
