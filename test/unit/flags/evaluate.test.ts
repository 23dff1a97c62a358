import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFlags, evaluate, isOn, type FlagDefinition } from '../../../src/flags/evaluate.js';
import { bucket } from '../../../src/flags/hash.js';

const flag = (key: string, over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  key,
  enabled: true,
  rollout: 100,
  group: null,
  retired: false,
  ...over,
});
const subjects = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);

describe('evaluate', () => {
  const table = compileFlags([
    flag('on'),
    flag('off', { enabled: false }),
    flag('retired', { enabled: false, rollout: 0, retired: true }),
    flag('zero', { rollout: 0 }),
    flag('half', { rollout: 50 }),
  ]);

  it('unknown keys are false with reason DEFAULT and FLAG_NOT_FOUND', () => {
    expect(evaluate(table, 'nope', { targetingKey: 'u' })).toMatchObject({ value: false, reason: 'DEFAULT', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('invalid keys are false with an error, never a throw', () => {
    expect(evaluate(table, 'Not A Key')).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(evaluate(table, undefined as unknown as string)).toMatchObject({ value: false, reason: 'ERROR' });
  });

  it('disabled is false (DISABLED), whatever the rollout', () => {
    expect(evaluate(table, 'off', { targetingKey: 'u' })).toEqual({ value: false, reason: 'DISABLED', variant: 'off' });
  });

  it('retired is locked on (STATIC), even when disabled', () => {
    expect(evaluate(table, 'retired')).toEqual({ value: true, reason: 'STATIC', variant: 'on' });
  });

  it('fully on is true for everyone (STATIC), with or without a subject', () => {
    expect(evaluate(table, 'on')).toEqual({ value: true, reason: 'STATIC', variant: 'on' });
    expect(evaluate(table, 'on', { targetingKey: 'x' }).value).toBe(true);
  });

  it('0% is false for everyone (STATIC)', () => {
    expect(evaluate(table, 'zero', { targetingKey: 'x' })).toEqual({ value: false, reason: 'STATIC', variant: 'off' });
  });

  it('a partial rollout follows the bucket (SPLIT) and is false without a targeting key (DEFAULT)', () => {
    for (const s of subjects(200)) {
      const r = evaluate(table, 'half', { targetingKey: s });
      expect(r.reason).toBe('SPLIT');
      expect(r.value).toBe(bucket(s, 'half') <= 50);
    }
    expect(evaluate(table, 'half')).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(evaluate(table, 'half', { targetingKey: '' }).value).toBe(false);
  });

  it('isOn agrees with evaluate', () => {
    for (const s of subjects(100)) for (const k of ['on', 'off', 'retired', 'zero', 'half', 'nope']) {
      expect(isOn(table.get(k), s)).toBe(evaluate(table, k, { targetingKey: s }).value);
    }
  });

  it('a rollout of N% reaches N% of 10,000 subjects within ±2 points', () => {
    const all = subjects(10_000);
    for (const rollout of [1, 10, 25, 50, 75, 99]) {
      const t = compileFlags([flag('dist.check', { rollout })]);
      const share = (all.filter((s) => isOn(t.get('dist.check'), s)).length / all.length) * 100;
      expect(Math.abs(share - rollout), `rollout ${rollout}: got ${share}`).toBeLessThanOrEqual(2);
    }
  });

  it('raising a rollout never removes a subject', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.string({ minLength: 1 }), (a, b, subject) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const before = compileFlags([flag('grow', { rollout: lo })]).get('grow');
        const after = compileFlags([flag('grow', { rollout: hi })]).get('grow');
        if (isOn(before, subject)) expect(isOn(after, subject)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
