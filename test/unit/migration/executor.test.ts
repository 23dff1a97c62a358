import { describe, expect, it } from 'vitest';
import { groupSteps, lockTimeoutFor } from '../../../src/migration/executor.js';
import type { ProgramStep } from '../../../src/migration/program.js';

const s = (description: string, transactional = true, ownTransaction = false): ProgramStep => ({
  kind: 'sql',
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

  it('joins bookkeeping and custom functions to their transactional neighbours; backfills and guards run alone', () => {
    const book: ProgramStep = { kind: 'bookkeeping', action: 'contract.start', description: 'mark', lock: 'none' };
    const guards: ProgramStep = { kind: 'guards', description: 'guards', lock: 'none' };
    const custom: ProgramStep = { kind: 'custom', fn: 'contract', description: 'custom', lock: 'ACCESS EXCLUSIVE' };
    const groups = groupSteps([guards, book, s('drop'), custom, s('index', false)]);
    expect(groups.map((g) => [g.start, g.transactional, g.steps.map((x) => x.description)])).toEqual([
      [0, false, ['guards']],
      [1, true, ['mark', 'drop', 'custom']],
      [4, false, ['index']],
    ]);
  });
});

describe('lockTimeoutFor', () => {
  it('starts at 100 ms and doubles up to the configured lock timeout', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => lockTimeoutFor(n, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(lockTimeoutFor(1, 50)).toBe(50);
  });
});
