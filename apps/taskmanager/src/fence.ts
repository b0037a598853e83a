/**
 * The TaskManager's side of JobManager fencing (high availability): the
 * largest leader epoch seen so far. A session or command carrying a smaller
 * one comes from a deposed leader (one that has not noticed yet that a
 * standby took over) and is refused; one without an epoch comes from a
 * JobManager without high availability and is accepted.
 */
import type { Logger } from './logger.js';

/** The largest JobManager leader epoch seen, and the check against it. */
export class LeaderFence {
  #highest = 0;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The largest epoch seen (0: none). */
  get highest(): number {
    return this.#highest;
  }

  /**
   * Whether something from the leader of `epoch` may be acted on; a newer
   * epoch becomes the one to hold to.
   *
   * @param what - what is checked, for the log (`command deploy`, `session`)
   */
  admit(epoch: number | undefined, what: string): boolean {
    if (epoch === undefined) return true;
    if (epoch < this.#highest) {
      this.#logger.warn(
        { epoch, highest: this.#highest, what },
        `Refused ${what} from a deposed JobManager leader (epoch ${epoch}; the leader's is ${this.#highest})`,
      );
      return false;
    }
    if (epoch > this.#highest) {
      if (this.#highest > 0)
        this.#logger.info(
          { epoch, previous: this.#highest },
          `Following a new JobManager leader (epoch ${epoch})`,
        );
      this.#highest = epoch;
    }
    return true;
  }
}
