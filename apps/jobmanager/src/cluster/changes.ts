/**
 * A version counter that subscribers can wait on. Many quick changes collapse
 * into one wake-up, so a slow subscriber sees the latest state instead of a
 * backlog.
 */
export class ChangeFeed {
  #version = 0;
  #waiters = new Set<() => void>();

  /** Current version; increases with every {@link ChangeFeed.notify}. */
  get version(): number {
    return this.#version;
  }

  /** Records a change and wakes every waiter. */
  notify(): void {
    this.#version++;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once the version is past `seen`, or when `signal` aborts
   * (then with `false`).
   */
  async next(seen: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#version > seen) return true;
    if (signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        this.#waiters.delete(wake);
        resolve(false);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
