import { describe, expect, it } from 'vitest';
import { groupSteps, lockTimeoutFor, type ExecStep } from '../../../src/migration/executor.js';

const s = (description: string, transactional = true, ownTransaction = false): ExecStep => ({
  description,
  sql: `-- ${description}`,
  lock: 'ACCESS EXCLUSIVE',
  transactional,
  ...(ownTransaction ? { ownTransaction } : {}),
});

describe('groupSteps', () => {
  it('runs consecutive transactional steps together, everything else alone, in order', () => {
    const groups = groupSteps([s('a'), s('b'), s('index', false), s('c'), s('validate', true, true), s('d'), s('e')]);
    expect(groups.map((g) => [g.start, g.transactional, g.steps.map((x) => x.description)])).toEqual([
      [0, true, ['a', 'b']],
      [2, false, ['index']],
      [3, true, ['c']],
      [4, true, ['validate']],
      [5, true, ['d', 'e']],
    ]);
  });
});

describe('lockTimeoutFor', () => {
  it('starts at 100 ms and doubles up to the configured lock timeout', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => lockTimeoutFor(n, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(lockTimeoutFor(1, 50)).toBe(50);
  });
});
