import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { TaskManagerHealth } from '@freshet/protocol';

/** Sampling period of the event-loop delay histogram, milliseconds. */
const RESOLUTION_MS = 10;

/**
 * Measures this process for heartbeats. Each {@link HealthSampler.sample}
 * reports CPU and event-loop delay over the time since the previous sample.
 */
export class HealthSampler {
  #cpu = process.cpuUsage();
  #at = performance.now();
  readonly #delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.#delay.enable();
  }

  /** Takes a sample and starts the next measuring interval. */
  sample(slotsUsed: number): TaskManagerHealth {
    const now = performance.now();
    const cpu = process.cpuUsage(this.#cpu);
    const wallMs = Math.max(1, now - this.#at);
    this.#cpu = process.cpuUsage();
    this.#at = now;
    const p99 = this.#delay.percentile(99);
    this.#delay.reset();
    const memory = process.memoryUsage();
    return {
      cpu: (cpu.user + cpu.system) / 1000 / wallMs,
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      // The histogram records whole timer periods; the delay is what exceeds the period.
      eventLoopDelayMs: Number.isFinite(p99) ? Math.max(0, p99 / 1e6 - RESOLUTION_MS) : 0,
      slotsUsed,
      uptimeSec: process.uptime(),
    };
  }

  /** Stops measuring the event loop. */
  stop(): void {
    this.#delay.disable();
  }
}
