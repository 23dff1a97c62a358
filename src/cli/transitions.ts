import { formatDuration } from '../duration.js';
import type { TransitionResult } from '../migration/context.js';
import type { Output } from './output.js';

/** Print what a lifecycle command did, for people and for --json. */
export function printTransitions(out: Output, command: string, results: TransitionResult[]): void {
  out.result({ command, migrations: results });
  if (results.length === 0) {
    out.line(`nothing to ${command}`);
    return;
  }
  for (const r of results) {
    if (r.noop) out.line(`${out.color.dim('=')} ${r.migration} is already ${r.to}`);
    else out.line(`${out.color.green('✓')} ${r.migration}: ${r.from} → ${r.to} ${out.color.dim(`(flag ${r.flag}, ${formatDuration(r.durationMs)})`)}`);
  }
}
