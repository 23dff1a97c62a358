/**
 * A rollout plan as the user gives it (`--plan 1,10,50,100 --every 10m
 * [--for ...] [--where ...] [--check "<sql>"]`), validated and normalised,
 * so a rerun can tell "the same plan, resume it" from "another plan".
 */
import { formatDuration, parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import { parseTargeting } from '../flags/targeting-syntax.js';
import type { RolloutRow, RolloutTargeting } from '../store/rollouts.js';

/** A validated plan. */
export interface RolloutPlan {
  /** The percentage of each step; with targeting the first is 0 (the allowlist/constraints only). */
  steps: number[];
  targeting: RolloutTargeting | null;
  everyMs: number;
  check: string | null;
}

/**
 * Parse `1,10,50,100` (spaces and `%` allowed) into percentages: whole
 * numbers from 1 to 100, strictly increasing (a plan only ever widens).
 *
 * @example
 * parsePercentages('1, 10, 50%, 100'); // [1, 10, 50, 100]
 */
export function parsePercentages(value: string | readonly number[]): number[] {
  const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim().replace(/\s*%$/, '')) : value.map(String);
  const hint = 'give increasing percentages from 1 to 100, e.g. --plan 1,10,50,100';
  if (parts.length === 0 || parts.some((p) => p === '')) throw new UsageError(`--plan ${JSON.stringify(String(value))} is not a list of percentages`, hint);
  const steps = parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 100) throw new UsageError(`--plan step ${JSON.stringify(p)} is not a whole percentage from 1 to 100`, hint);
    return n;
  });
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]! <= steps[i - 1]!) throw new UsageError(`--plan steps must increase: ${steps[i]} follows ${steps[i - 1]}`, hint);
  }
  return steps;
}

/**
 * Validate a whole plan. With targeting, a first step turns on the allowlist
 * and constraints only (0 %); the percentages follow.
 *
 * @example
 * rolloutPlan({ plan: '10,100', every: '10m', for: ['user:42'] });
 * // { steps: [0, 10, 100], targeting: { for: ['user:42'], where: [] }, everyMs: 600000, check: null }
 */
export function rolloutPlan(input: { plan: string | readonly number[]; every: string | number; check?: string; for?: readonly string[]; where?: readonly string[] }): RolloutPlan {
  const percentages = parsePercentages(input.plan);
  const everyMs = parseDuration(input.every, '--every');
  if (everyMs < 1000) throw new UsageError(`--every must be at least 1s, got ${formatDuration(everyMs)}`);
  const targeted = Boolean(input.for?.length || input.where?.length);
  if (targeted) parseTargeting({ for: input.for, where: input.where });
  const check = input.check?.trim() || null;
  if (input.check !== undefined && !check) throw new UsageError('--check is empty', 'give a query returning one boolean, e.g. --check "SELECT count(*) = 0 FROM alarms"');
  return {
    steps: targeted ? [0, ...percentages] : percentages,
    targeting: targeted ? { for: [...(input.for ?? [])], where: [...(input.where ?? [])] } : null,
    everyMs,
    check,
  };
}

/** Whether a persisted rollout runs this plan (then a rerun resumes it). */
export function samePlan(row: Pick<RolloutRow, 'steps' | 'targeting' | 'everyMs' | 'check'>, plan: RolloutPlan): boolean {
  return (
    JSON.stringify(row.steps) === JSON.stringify(plan.steps) &&
    JSON.stringify(row.targeting ?? null) === JSON.stringify(plan.targeting) &&
    row.everyMs === plan.everyMs &&
    (row.check ?? null) === plan.check
  );
}

/** One step in words: `50 %`, or `--for user:42 --where "tenant in (acme)" (0 %)` for the targeting step. */
export function describeStep(plan: Pick<RolloutPlan, 'steps' | 'targeting'>, index: number): string {
  const percent = plan.steps[index]!;
  if (index === 0 && plan.targeting) {
    const parts = [...(plan.targeting.for.length ? [`--for ${plan.targeting.for.join(',')}`] : []), ...plan.targeting.where.map((w) => `--where ${JSON.stringify(w)}`)];
    return `${parts.join(' ')} (0 %)`;
  }
  return `${percent} %`;
}

/**
 * The plan in words, as the command that runs it: `--plan 1,10,50,100 --every 10m`.
 *
 * @example
 * describePlan({ steps: [1, 10, 100], targeting: null, everyMs: 600000, check: null }); // '--plan 1,10,100 --every 10m'
 */
export function describePlan(plan: Pick<RolloutPlan, 'steps' | 'targeting' | 'everyMs' | 'check'>): string {
  const percentages = plan.targeting ? plan.steps.slice(1) : plan.steps;
  const parts = [`--plan ${percentages.join(',')}`, `--every ${everyText(plan.everyMs)}`];
  if (plan.targeting) parts.push(describeStep(plan, 0).replace(/ \(0 %\)$/, ''));
  if (plan.check) parts.push(`--check ${JSON.stringify(plan.check)}`);
  return parts.join(' ');
}

/** `--every` as it could have been typed: `10m`, `90s`, `2h`, `1500ms`. */
function everyText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
