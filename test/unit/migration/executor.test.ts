import { describe, expect, it } from 'vitest';
import { groupSteps, type ExecStep } from '../../../src/migration/executor.js';

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
