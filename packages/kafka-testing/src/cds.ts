/**
 * Class data sharing for the broker JVM: the first broker that runs without an
 * archive writes the classes it loaded to one when it exits
 * (`-XX:ArchiveClassesAtExit`); later JVMs map it (`-XX:SharedArchiveFile`)
 * and start about a second sooner, with less CPU. An archive from another JDK
 * build or classpath is ignored by the JVM with a warning, never an error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';

/** The JVM flags of one broker run and what to do once it has exited. */
export interface ClassDataSharing {
  /** Flags for the broker JVM. */
  readonly brokerArgs: readonly string[];
  /** Flags for short-lived tool JVMs (the storage formatter): use an archive, never write one. */
  readonly toolArgs: readonly string[];
  /**
   * Publishes the archive the broker wrote, if it wrote one. Call after the
   * JVM exited; `cleanExit` says whether it exited on its own terms (not SIGKILL).
   */
  finish(cleanExit: boolean): Promise<void>;
}

/** Plans class data sharing around the archive at `archive` (beside the jars it was made from). */
export function classDataSharing(archive: string): ClassDataSharing {
  if (existsSync(archive)) {
    const args = [`-XX:SharedArchiveFile=${archive}`];
    return { brokerArgs: args, toolArgs: args, finish: () => Promise.resolve() };
  }
  // Private name, renamed into place: concurrent first runs never see a half-written archive.
  const staging = `${archive}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  return {
    brokerArgs: [`-XX:ArchiveClassesAtExit=${staging}`],
    toolArgs: [],
    async finish(cleanExit) {
      if (cleanExit && existsSync(staging)) await rename(staging, archive);
      else await rm(staging, { force: true });
    },
  };
}
