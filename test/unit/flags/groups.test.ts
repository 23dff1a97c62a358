import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFlags, isOn, type FlagDefinition } from '../../../src/flags/evaluate.js';
import { groupChangeProblem, layoutGroups, type GroupMember } from '../../../src/flags/groups.js';

const member = (key: string, rollout: number, createdAt: number, over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  key,
  enabled: true,
  rollout,
  group: 'exp',
  retired: false,
  createdAt,
  ...over,
});

describe('exclusion groups', () => {
  it('lays members out in creation order, each owning `rollout` buckets', () => {
    const slices = layoutGroups([member('b', 20, 2), member('a', 10, 1), member('c', 30, 3), { key: 'solo', rollout: 5, group: null }]);
    expect(Object.fromEntries(slices)).toEqual({ a: { lo: 1, hi: 10 }, b: { lo: 11, hi: 30 }, c: { lo: 31, hi: 60 } });
  });

  it('no subject ever gets two flags of a group, for any rollouts that fit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 2, maxLength: 5 }), (rollouts) => {
        const defs = rollouts.map((r, i) => member(`f${i}`, r, i));
        const total = rollouts.reduce((a, b) => a + b, 0);
        const table = compileFlags(defs);
        const counts = new Map<string, number>();
        for (let s = 0; s < 2000; s++) {
          const on = defs.filter((d) => isOn(table.get(d.key), `subject-${s}`));
          expect(on.length).toBeLessThanOrEqual(1);
          for (const d of on) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
        }
        if (total <= 100) {
          // Each flag still gets about its share of the group's subjects.
          for (const d of defs) expect(Math.abs(((counts.get(d.key) ?? 0) / 2000) * 100 - d.rollout)).toBeLessThanOrEqual(5);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('growing the newest member never moves another member’s subjects, and never drops its own', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 40 }), (a, b, grow) => {
        const before = compileFlags([member('a', a, 1), member('b', b, 2)]);
        const after = compileFlags([member('a', a, 1), member('b', b + grow, 2)]);
        for (let s = 0; s < 300; s++) {
          const subject = `u${s}`;
          expect(isOn(after.get('a'), subject)).toBe(isOn(before.get('a'), subject));
          if (isOn(before.get('b'), subject)) expect(isOn(after.get('b'), subject)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('a disabled member keeps its slice, so turning it back on brings back the same subjects', () => {
    const on = compileFlags([member('a', 30, 1), member('b', 30, 2)]);
    const aOff = compileFlags([member('a', 30, 1, { enabled: false }), member('b', 30, 2)]);
    for (let s = 0; s < 500; s++) expect(isOn(aOff.get('b'), `u${s}`)).toBe(isOn(on.get('b'), `u${s}`));
  });

  describe('groupChangeProblem (checked when a flag is written)', () => {
    const was: GroupMember[] = [
      { key: 'a', rollout: 10, group: 'g', createdAt: 1 },
      { key: 'b', rollout: 20, group: 'g', createdAt: 2 },
    ];
    const change = (key: string, over: Partial<GroupMember>) => {
      const base = was.find((m) => m.key === key) ?? { key, rollout: 0, group: 'g', createdAt: 3 };
      return [...was.filter((m) => m.key !== key), { ...base, ...over }];
    };

    it('allows growing the newest member and adding a new one', () => {
      expect(groupChangeProblem(was, change('b', { rollout: 90 }), 'b')).toBeUndefined();
      expect(groupChangeProblem(was, change('c', { rollout: 70 }), 'c')).toBeUndefined();
    });

    it('refuses overflowing the group', () => {
      expect(groupChangeProblem(was, change('c', { rollout: 71 }), 'c')).toMatch(/at most 70%/);
    });

    it('refuses resizing a member while a later one holds subjects', () => {
      expect(groupChangeProblem(was, change('a', { rollout: 15 }), 'a')).toMatch(/would move the subjects of "b"/);
    });
  });
});
