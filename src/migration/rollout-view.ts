import { formatDuration } from '../duration.js';
import type { RolloutRow } from '../store/rollouts.js';
import { describePlan, describeStep } from './rollout-plan.js';

/**
 * How a rollout plan is shown: as JSON (`migrate status --json`, the
 * console's API) and in one line (`migrate status`, the console's page).
 */

/**
 * A rollout for `--json` and the API: plan, step (1-based), next step and when, why it stopped.
 *
 * @example
 * rolloutJson(row) // { status: 'running', plan: '--plan 1,10,50,100 --every 10m', step: 2, of: 4, current: '10 %', next: '50 %', ... }
 */
export function rolloutJson(r: RolloutRow) {
  return {
    status: r.status,
    plan: describePlan(r),
    steps: r.steps,
    targeting: r.targeting,
    everyMs: r.everyMs,
    check: r.check,
    step: r.step + 1,
    of: r.steps.length,
    current: describeStep(r, r.step),
    next: r.status === 'running' && r.step + 1 < r.steps.length ? describeStep(r, r.step + 1) : null,
    nextAt: r.status === 'running' ? r.nextAt : null,
    startedAt: r.startedAt,
    stopReason: r.stopReason,
    updatedAt: r.updatedAt,
  };
}

/**
 * A rollout in one line: `running, step 2/4 (10 %), next 50 % in 8m 12s (--plan 1,10,50,100 --every 10m)`.
 *
 * @example
 * rolloutLine(row)
 */
export function rolloutLine(r: RolloutRow): string {
  const at = `step ${r.step + 1}/${r.steps.length} (${describeStep(r, r.step)})`;
  const plan = `(${describePlan(r)})`;
  switch (r.status) {
    case 'running': {
      const next = r.step + 1 < r.steps.length ? describeStep(r, r.step + 1) : 'the end';
      const wait = r.nextAt ? Math.max(0, r.nextAt.getTime() - Date.now()) : 0;
      return `running, ${at}, next ${next} ${wait > 0 ? `in ${formatDuration(wait)}` : 'now'} at ${r.nextAt?.toISOString() ?? '?'} ${plan}`;
    }
    case 'completed':
      return `completed ${formatDuration(Date.now() - r.updatedAt.getTime())} ago ${plan}`;
    default:
      return `${r.status} at ${at}: ${r.stopReason ?? 'no reason recorded'} ${plan}`;
  }
}
