import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintSql, rules, type Catalog, type LintOptions, type Phase } from '../../../src/lint/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/lint');

interface Fixture {
  phase?: Phase;
  inTransaction?: boolean;
  generated?: boolean;
  /** `table.column` → type as format_type prints it. */
  catalog?: Record<string, string>;
  /** `line:column` of every finding of this rule in bad.sql. */
  expect: string[];
}

function optionsFor(fixture: Fixture, file: string): LintOptions {
  const catalog: Catalog | undefined = fixture.catalog && {
    columnType: (table, column) => fixture.catalog?.[`${table}.${column}`],
  };
  return {
    phase: fixture.phase ?? 'expand',
    file,
    ...(fixture.inTransaction !== undefined && { inTransaction: fixture.inTransaction }),
    ...(fixture.generated !== undefined && { generated: fixture.generated }),
    ...(catalog && { catalog }),
  };
}

describe('rule fixtures (test/fixtures/lint/<rule-id>/)', () => {
  it('covers the whole rules table with unique ids', () => {
    const ids = rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(20);
  });

  for (const rule of rules) {
    describe(rule.id, () => {
      const dir = path.join(root, rule.id);
      const files = ['bad.sql', 'good.sql', 'fixture.json'].map((f) => path.join(dir, f));

      it('has bad.sql, good.sql and fixture.json', () => {
        for (const f of files) expect(existsSync(f), `${path.relative(root, f)} is missing`).toBe(true);
      });
      if (!files.every((f) => existsSync(f))) return;
      const fixture = JSON.parse(readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as Fixture;

      it('documents why and a safe alternative', () => {
        expect(rule.why.length).toBeGreaterThan(20);
        expect(rule.fix.length).toBeGreaterThan(10);
      });

      it('bad.sql triggers it at the expected positions', async () => {
        const findings = await lintSql(readFileSync(files[0]!, 'utf8'), optionsFor(fixture, 'bad.sql'));
        const mine = findings.filter((f) => f.rule === rule.id);
        expect(mine.map((f) => `${f.line}:${f.column}`)).toEqual(fixture.expect);
        for (const f of mine) {
          expect(f.file).toBe('bad.sql');
          expect(f.severity).toBe(rule.severity[fixture.phase ?? 'expand']);
        }
      });

      it('good.sql (the safe twin) is clean', async () => {
        const findings = await lintSql(readFileSync(files[1]!, 'utf8'), optionsFor(fixture, 'good.sql'));
        expect(findings.map((f) => `${f.rule} ${f.line}:${f.column} ${f.message}`)).toEqual([]);
      });
    });
  }
});
