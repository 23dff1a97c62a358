/** Request counters for one code path (old or new) over a phase. */
export class PathStats {
  ok = 0;
  failed = 0;
  private latencies: number[] = [];
  lastError: string | undefined;

  record(ms: number, error?: unknown): void {
    if (error) {
      this.failed++;
      this.lastError = (error as Error).message;
    } else this.ok++;
    this.latencies.push(ms);
  }

  get total(): number {
    return this.ok + this.failed;
  }

  percentile(p: number): number {
    if (this.latencies.length === 0) return 0;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  }

  get max(): number {
    return this.latencies.reduce((m, x) => Math.max(m, x), 0);
  }
}

/** Old- and new-path stats of one phase of one migration. */
export interface PhaseStats {
  migration: string;
  flag: string;
  phase: string;
  started: number;
  ended?: number;
  old: PathStats;
  new: PathStats;
}

export function newPhase(migration: string, flag: string, phase: string): PhaseStats {
  return { migration, flag, phase, started: Date.now(), old: new PathStats(), new: new PathStats() };
}
