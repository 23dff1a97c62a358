import { describe, expect, it } from 'vitest';
import { lintSqlSync, loadLinter } from '../../../src/lint/index.js';

// Its own file: module state (the loaded parser) is per test file.
describe('lintSqlSync', () => {
  it('refuses to run before the parser is loaded, then works', async () => {
    expect(() => lintSqlSync('SELECT 1', { phase: 'any' })).toThrow(/await loadLinter\(\)/);
    await loadLinter();
    expect(lintSqlSync('VACUUM FULL t', { phase: 'any' }).map((f) => `${f.rule}@${f.line}:${f.column}`)).toEqual(['vacuum-full@1:8']);
  });
});
