import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { errorRateProblem } from '../../../src/migration/rollout-checks.js';
import { describePlan, describeStep, parsePercentages, rolloutPlan, samePlan } from '../../../src/migration/rollout-plan.js';

describe('rollout plans', () => {
  it('parses increasing whole percentages from 1 to 100', () => {
    expect(parsePercentages('1,10,50,100')).toEqual([1, 10, 50, 100]);
    expect(parsePercentages(' 5 , 25%, 100 ')).toEqual([5, 25, 100]);
    expect(parsePercentages([10, 100])).toEqual([10, 100]);
    for (const bad of ['', '10,', '0,100', '10,101', '10,10', '50,10', '1.5,100', 'ten']) {
      expect(() => parsePercentages(bad), bad).toThrow(UsageError);
    }
  });

  it('puts a targeting step (0 %) first, and needs --every of at least 1s', () => {
    expect(rolloutPlan({ plan: '10,100', every: '10m', for: ['user:42'], where: ['tenant in (acme)'] })).toEqual({
      steps: [0, 10, 100],
      targeting: { for: ['user:42'], where: ['tenant in (acme)'] },
      everyMs: 600_000,
      check: null,
    });
    expect(rolloutPlan({ plan: [1, 100], every: 2000, check: ' SELECT true ' })).toEqual({ steps: [1, 100], targeting: null, everyMs: 2000, check: 'SELECT true' });
    expect(() => rolloutPlan({ plan: '10,100', every: '500ms' })).toThrow(/at least 1s/);
    expect(() => rolloutPlan({ plan: '10,100', every: 'soon' })).toThrow(UsageError);
    expect(() => rolloutPlan({ plan: '10,100', every: '1m', where: ['tenant in acme'] })).toThrow(/--where/);
    expect(() => rolloutPlan({ plan: '10,100', every: '1m', check: '  ' })).toThrow(/--check is empty/);
  });

  it('says the plan the way it is typed, and tells the same plan from another', () => {
    const plan = rolloutPlan({ plan: '1,10,100', every: '90s', for: ['user:42'], check: 'SELECT true' });
    expect(describePlan(plan)).toBe('--plan 1,10,100 --every 90s --for user:42 --check "SELECT true"');
    expect(describeStep(plan, 0)).toBe('--for user:42 (0 %)');
    expect(describeStep(plan, 2)).toBe('10 %');
    expect(describePlan(rolloutPlan({ plan: '50,100', every: '2h' }))).toBe('--plan 50,100 --every 2h');
    expect(samePlan(plan, rolloutPlan({ plan: '1, 10, 100', every: 90_000, for: ['user:42'], check: 'SELECT true' }))).toBe(true);
    expect(samePlan(plan, rolloutPlan({ plan: '1,10,100', every: '90s', for: ['user:42'] }))).toBe(false);
    expect(samePlan(plan, rolloutPlan({ plan: '1,10,100', every: '1m', for: ['user:42'], check: 'SELECT true' }))).toBe(false);
  });

  it('stops on the error rate only past the minimum count of new-path errors, and only when above the old path', () => {
    const rates = (on: [number, number], off: [number, number]) => ({
      key: 'k',
      event: 'error',
      windowMs: 60_000,
      since: new Date(),
      on: { evaluations: on[0], errors: on[1], rate: on[0] ? on[1] / on[0] : null },
      off: { evaluations: off[0], errors: off[1], rate: off[0] ? off[1] / off[0] : null },
    });
    expect(errorRateProblem(rates([100, 4], [100, 0]), 5)).toBeUndefined();
    expect(errorRateProblem(rates([100, 5], [100, 0]), 5)).toMatch(/the new path's error rate 5\.0 % \(5 errors in 100 evaluations\) is above the old path's 0\.00 %/);
    expect(errorRateProblem(rates([100, 5], [1000, 60]), 5)).toBeUndefined();
    expect(errorRateProblem(rates([100, 5], [0, 0]), 5)).toMatch(/above the old path's 0\.00 % \(0 in 0\)/);
  });
});
