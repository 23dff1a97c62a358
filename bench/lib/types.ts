/** The shapes every scenario shares: its context, and the figures it reports. */
import type { BenchOptions } from './args.js';
import type { BenchServer } from './server.js';

/** One measured figure beside its baseline, measured in the same run. */
export interface Figure {
  /** Scenario name, e.g. `zero-downtime`. */
  scenario: string;
  /** What is measured, e.g. `1,000,000 rows: longest lock wait`. */
  label: string;
  unit: string;
  /** Curtain's value (null when it could not be measured). */
  value: number | null;
  baseline: { label: string; value: number | null };
  /** value / baseline (null when undefined, e.g. a zero baseline). */
  ratio: number | null;
  /** The target from the issues, e.g. `≤ 1.5×`, and whether this run met it. */
  target?: string;
  pass?: boolean;
  /** One line: what the figure means. */
  meaning: string;
  /** A short measured observation printed under the table (e.g. where the time went). */
  note?: string;
  details?: Record<string, unknown>;
}

/** What a scenario gets: options, the server, progress logging, and results shared within the run. */
export interface BenchContext {
  options: BenchOptions;
  server: BenchServer;
  /** Progress on stderr (stdout stays clean for `--json`). */
  log(message: string): void;
  /** Results one scenario may reuse from another in the same run (e.g. scale reuses zero-downtime). */
  shared: Map<string, unknown>;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** Thrown by a scenario that cannot run here; reported as skipped with the reason. */
export class SkipScenario extends Error {}

/** A scenario's outcome in the report. */
export interface ScenarioOutcome {
  name: string;
  title: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  durationMs: number;
  figures: Figure[];
}
