/**
 * The coordinator of watermark alignment (the part of Flink's
 * SourceCoordinator that aligns watermarks): collects the watermarks the
 * aligned source subtasks report, and announces to each group the largest
 * watermark its sources may reach, the group's smallest plus its drift.
 * Pure bookkeeping; the host moves reports in and announcements out.
 */
import { MAX_WATERMARK } from '../operator.js';
import type { AlignmentReport } from '../task/source-alignment.js';

/** The largest watermark the sources of `group` may reach. */
export interface AlignmentAnnouncement {
  group: string;
  maxAllowedWatermark: number;
}

interface Group {
  maxDriftMs: number;
  /** `vertexId#subtask` -> its last reported watermark. */
  watermarks: Map<string, number>;
}

/** Watermark alignment across the sources of one job. */
export class WatermarkAlignmentCoordinator {
  readonly #groups = new Map<string, Group>();

  /**
   * Takes reports (each with its group's drift) and returns the groups'
   * announcements, for every group the reports touched.
   */
  report(reports: readonly (AlignmentReport & { maxDriftMs: number })[]): AlignmentAnnouncement[] {
    const touched = new Set<string>();
    for (const r of reports) {
      let g = this.#groups.get(r.group);
      if (g === undefined)
        this.#groups.set(r.group, (g = { maxDriftMs: r.maxDriftMs, watermarks: new Map() }));
      // Sources of one group that declare different drifts get the tightest (Flink expects one).
      g.maxDriftMs = Math.min(g.maxDriftMs, r.maxDriftMs);
      g.watermarks.set(`${r.vertexId}#${r.subtask}`, r.watermark);
      touched.add(r.group);
    }
    return [...touched].map((group) => this.announcement(group));
  }

  /** The group's current announcement (MAX_WATERMARK when every source is idle or ended). */
  announcement(group: string): AlignmentAnnouncement {
    const g = this.#groups.get(group);
    let min = MAX_WATERMARK;
    for (const w of g?.watermarks.values() ?? []) if (w < min) min = w;
    return {
      group,
      maxAllowedWatermark: min === MAX_WATERMARK ? MAX_WATERMARK : min + (g?.maxDriftMs ?? 0),
    };
  }

  /** Forgets every report (a restart: the new attempt's sources report afresh). */
  reset(): void {
    this.#groups.clear();
  }
}
