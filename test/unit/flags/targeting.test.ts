import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFlags, evaluate, isOn, type FlagDefinition } from '../../../src/flags/evaluate.js';
import { bucket } from '../../../src/flags/hash.js';
import { parseConstraint, parseSubjects, parseTargeting, TargetingSyntaxError } from '../../../src/flags/targeting-syntax.js';
import { describeFlagState, formatConstraint, type Constraint } from '../../../src/flags/targeting.js';

const flag = (key: string, over: Partial<FlagDefinition> = {}): FlagDefinition => ({ key, enabled: true, rollout: 100, group: null, retired: false, ...over });

function syntaxError(text: string): TargetingSyntaxError {
  try {
    parseConstraint(text);
  } catch (err) {
    expect(err).toBeInstanceOf(TargetingSyntaxError);
    return err as TargetingSyntaxError;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe('the --where grammar', () => {
  it('reads the four operators, bare and quoted values, any spacing and keyword case', () => {
    expect(parseConstraint('tenant in (acme, initech)')).toEqual({ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] });
    expect(parseConstraint('appName = billing-canary')).toEqual({ attribute: 'appName', operator: '=', values: ['billing-canary'] });
    expect(parseConstraint('  region!=eu-west-1 ')).toEqual({ attribute: 'region', operator: '!=', values: ['eu-west-1'] });
    expect(parseConstraint('plan NOT   IN(free,"trial, extended")')).toEqual({ attribute: 'plan', operator: 'not in', values: ['free', 'trial, extended'] });
    expect(parseConstraint(`company = 'O\\'Reilly & Sons'`)).toEqual({ attribute: 'company', operator: '=', values: ["O'Reilly & Sons"] });
    expect(parseConstraint('version in (1.2.3)')).toEqual({ attribute: 'version', operator: 'in', values: ['1.2.3'] });
    expect(parseConstraint('x = ""')).toEqual({ attribute: 'x', operator: '=', values: [''] });
    // "in" is a keyword only as a word: an attribute may start with it
    expect(parseConstraint('index = 3')).toEqual({ attribute: 'index', operator: '=', values: ['3'] });
  });

  it('names the problem and its column on bad syntax', () => {
    const cases: [string, RegExp, number | undefined][] = [
      ['tenant in acme', /expected "\(" to open the list of values, found "acme" at column 11/, 11],
      ['tenant in (acme, ', /expected a value, found the end at column 18/, 18],
      ['tenant in (acme initech)', /expected "," or "\)", found "initech\)" at column 17/, 17],
      ['tenant in (acme', /missing "\)" to close the list at column 16/, 16],
      ['tenant == acme', /expected a value, found "= acme" at column 9/, 9],
      ['tenant acme', /expected an operator \(=, !=, in, not in\), found "acme" at column 8/, 8],
      ['= acme', /expected an attribute name, found "= acme" at column 1/, 1],
      ['9lives = yes', /expected an attribute name/, 1],
      ['tenant = acme and app = x', /unexpected "and": give each condition its own --where \(they are ANDed\) at column 15/, 15],
      ['tenant = "acme', /unterminated double-quoted value at column 10/, 10],
      ['tenant = a)', /unexpected "\)" after the condition at column 11/, 11],
      ['', /expected an attribute name, found the end at column 1/, 1],
    ];
    for (const [text, message, column] of cases) {
      const err = syntaxError(text);
      expect(err.message, text).toMatch(message);
      expect(err.message).toContain(`invalid --where ${JSON.stringify(text)}`);
      expect(err.column, text).toBe(column);
      expect(err.exitCode).toBe(2);
      expect(err.hint).toMatch(/attr in \(a, b\)/);
    }
  });

  it('formatting a constraint and parsing it back gives the same constraint', () => {
    const value = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((v) => !/[\u0000-\u001f\u007f]/.test(v));
    const constraint = fc.oneof(
      fc.record({ attribute: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/), operator: fc.constantFrom('=' as const, '!=' as const), values: fc.tuple(value).map((v) => [...v]) }),
      fc.record({ attribute: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/), operator: fc.constantFrom('in' as const, 'not in' as const), values: fc.array(value, { minLength: 1, maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(constraint, (c: Constraint) => {
        expect(parseConstraint(formatConstraint(c))).toEqual(c);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the --for list', () => {
  it('splits on commas, trims, drops duplicates, and accepts several --for', () => {
    expect(parseSubjects(['user:42, user:7', 'user:9,user:42'])).toEqual(['user:42', 'user:7', 'user:9']);
  });

  it('rejects empty subjects with their column', () => {
    expect(() => parseSubjects(['user:42,,user:7'])).toThrow(/invalid --for "user:42,,user:7": empty subject at column 9/);
    expect(() => parseSubjects([''])).toThrow(/empty subject at column 1/);
  });

  it('parseTargeting leaves absent options absent', () => {
    expect(parseTargeting({})).toEqual({});
    expect(parseTargeting({ where: ['a = b', 'c in (d)'] })).toEqual({
      constraints: [
        { attribute: 'a', operator: '=', values: ['b'] },
        { attribute: 'c', operator: 'in', values: ['d'] },
      ],
    });
  });
});

describe('targeted evaluation', () => {
  const where = (text: string) => parseConstraint(text);
  const table = compileFlags([
    flag('canary', { rollout: 0, subjects: ['user:42', 'user:7'], constraints: [where('tenant in (acme, initech)')] }),
    flag('canary.off', { enabled: false, rollout: 0, subjects: ['user:42'], constraints: [where('tenant = acme')] }),
    flag('canary.retired', { enabled: false, retired: true, rollout: 0, subjects: ['user:42'] }),
    flag('canary.and', { rollout: 0, constraints: [where('tenant = acme'), where('appName != billing')] }),
    flag('canary.not', { rollout: 0, constraints: [where('plan not in (free)')] }),
    flag('canary.split', { rollout: 30, subjects: ['user:42'] }),
    flag('canary.full', { rollout: 100, subjects: ['user:42'] }),
    flag('canary.numbers', { rollout: 0, constraints: [where('age in (42)'), where('beta = true')] }),
  ]);

  it('allowlist → on; constraints → on; everyone else falls through to the percentage (0 %: off)', () => {
    expect(evaluate(table, 'canary', { targetingKey: 'user:42' })).toEqual({ value: true, reason: 'TARGETING_MATCH', variant: 'on' });
    expect(evaluate(table, 'canary', { targetingKey: 'user:7', tenant: 'globex' }).value).toBe(true);
    expect(evaluate(table, 'canary', { targetingKey: 'user:1', tenant: 'initech' })).toEqual({ value: true, reason: 'TARGETING_MATCH', variant: 'on' });
    expect(evaluate(table, 'canary', { tenant: 'acme' }).value).toBe(true); // no subject needed for a constraint
    expect(evaluate(table, 'canary', { targetingKey: 'user:1', tenant: 'globex' })).toEqual({ value: false, reason: 'DEFAULT', variant: 'off' });
    expect(evaluate(table, 'canary', { targetingKey: 'user:1' }).value).toBe(false);
    expect(evaluate(table, 'canary').value).toBe(false);
    expect(evaluate(table, 'canary', { targetingKey: 'USER:42', tenant: 'ACME' }).value).toBe(false); // exact, case-sensitive
  });

  it('disabled beats targeting; retired beats everything', () => {
    expect(evaluate(table, 'canary.off', { targetingKey: 'user:42', tenant: 'acme' })).toEqual({ value: false, reason: 'DISABLED', variant: 'off' });
    expect(evaluate(table, 'canary.retired', { targetingKey: 'someone' })).toEqual({ value: true, reason: 'STATIC', variant: 'on' });
  });

  it('several constraints are ANDed; a missing attribute fails even a negation', () => {
    expect(isOn(table.get('canary.and'), { tenant: 'acme', appName: 'web' })).toBe(true);
    expect(isOn(table.get('canary.and'), { tenant: 'acme', appName: 'billing' })).toBe(false);
    expect(isOn(table.get('canary.and'), { tenant: 'acme' })).toBe(false);
    expect(isOn(table.get('canary.not'), { plan: 'pro' })).toBe(true);
    expect(isOn(table.get('canary.not'), { plan: 'free' })).toBe(false);
    expect(isOn(table.get('canary.not'), { targetingKey: 'u' })).toBe(false);
    expect(isOn(table.get('canary.not'), { plan: { name: 'pro' } })).toBe(false); // not a scalar
  });

  it('numbers and booleans compare by their text', () => {
    expect(isOn(table.get('canary.numbers'), { age: 42, beta: true })).toBe(true);
    expect(isOn(table.get('canary.numbers'), { age: '42', beta: 'true' })).toBe(true);
    expect(isOn(table.get('canary.numbers'), { age: 42, beta: false })).toBe(false);
  });

  it('with a percentage as well, the allowlist comes first and the rest follow their bucket (SPLIT)', () => {
    expect(evaluate(table, 'canary.split', { targetingKey: 'user:42' }).reason).toBe('TARGETING_MATCH');
    for (let i = 0; i < 200; i++) {
      const s = `u${i}`;
      expect(evaluate(table, 'canary.split', { targetingKey: s })).toMatchObject({ value: bucket(s, 'canary.split') <= 30, reason: 'SPLIT' });
    }
    expect(evaluate(table, 'canary.full', { targetingKey: 'anyone' })).toEqual({ value: true, reason: 'STATIC', variant: 'on' });
  });

  it('isOn agrees with evaluate for any context', () => {
    const ctx = fc.record(
      { targetingKey: fc.constantFrom('user:42', 'user:7', 'user:1', 'x', ''), tenant: fc.constantFrom('acme', 'initech', 'globex'), appName: fc.constantFrom('web', 'billing'), plan: fc.constantFrom('free', 'pro') },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(ctx, fc.constantFrom(...table.keys()), (c, k) => {
        expect(isOn(table.get(k), c)).toBe(evaluate(table, k, c).value);
      }),
      { numRuns: 2000 },
    );
  });

  it('stored constraints that do not validate (a hand-edited backup) never match', () => {
    const t = compileFlags([flag('broken', { rollout: 0, constraints: [{ attribute: 'tenant', operator: 'like' as never, values: ['acme'] }] })]);
    expect(isOn(t.get('broken'), { tenant: 'acme' })).toBe(false);
  });
});

describe('describeFlagState', () => {
  it('says who gets the flag', () => {
    const base = { enabled: true, retired: false };
    expect(describeFlagState({ ...base, rollout: 0, subjects: ['user:42', 'user:7'], constraints: [parseConstraint('tenant in (acme,initech)')] })).toBe(
      'on for user:42, user:7; where tenant in (acme, initech); else 0%',
    );
    expect(describeFlagState({ ...base, rollout: 10, subjects: [], constraints: [parseConstraint('a=b'), parseConstraint('c != "d e"')] })).toBe('on where a = b and c != "d e"; else 10%');
    expect(describeFlagState({ ...base, rollout: 0, subjects: Array.from({ length: 8 }, (_, i) => `u${i}`) })).toBe('on for u0, u1, u2, u3, u4 (+3 more); else 0%');
    expect(describeFlagState({ ...base, rollout: 25 })).toBe('on 25%');
    expect(describeFlagState({ ...base, rollout: 100, subjects: ['u'] })).toBe('on');
    expect(describeFlagState({ ...base, enabled: false, rollout: 0, subjects: ['u'] })).toBe('off');
  });
});
