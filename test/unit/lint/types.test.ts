import { describe, expect, it } from 'vitest';
import { isSafeTypeChange, lintSql, parseTypeString, type Catalog } from '../../../src/lint/index.js';
import { LOCK, lint } from './helpers.js';

const t = (s: string) => {
  const parsed = parseTypeString(s);
  if (!parsed) throw new Error(`unparsed ${s}`);
  return parsed;
};

describe('type changes', () => {
  it('parses format_type spellings', () => {
    expect(parseTypeString('character varying(50)')).toEqual({ name: 'varchar', mods: [50] });
    expect(parseTypeString('numeric(10,2)')).toEqual({ name: 'numeric', mods: [10, 2] });
    expect(parseTypeString('integer')).toEqual({ name: 'int4', mods: [] });
    expect(parseTypeString('timestamp(3) with time zone')).toEqual({ name: 'timestamptz', mods: [3] });
    expect(parseTypeString('text')).toEqual({ name: 'text', mods: [] });
  });

  it.each([
    ['character varying(50)', 'character varying(100)', true],
    ['character varying(50)', 'character varying', true],
    ['character varying(50)', 'text', true],
    ['character varying', 'text', true],
    ['text', 'character varying', true],
    ['numeric(10,2)', 'numeric(12,2)', true],
    ['numeric(10,2)', 'numeric', true],
    ['cidr', 'inet', true],
    ['timestamp(3) without time zone', 'timestamp(6) without time zone', true],
    ['character varying(100)', 'character varying(50)', false],
    ['text', 'character varying(50)', false],
    ['integer', 'bigint', false],
    ['numeric(10,2)', 'numeric(12,3)', false],
    ['numeric', 'numeric(10,2)', false],
    ['timestamp without time zone', 'timestamp with time zone', false],
  ])('%s → %s safe: %s', (from, to, safe) => {
    expect(isSafeTypeChange(t(from), t(to))).toBe(safe);
  });
});

describe('alter-column-type and varchar-narrowing', () => {
  const catalog: Catalog = {
    columnType: (table, column) =>
      ({ 'users.name': 'character varying(100)', 'users.bio': 'text', 'users.n': 'integer' } as Record<string, string>)[`${table}.${column}`],
  };
  const alter = (type: string) => `${LOCK}ALTER TABLE users ALTER COLUMN name TYPE ${type};`;
  const severities = async (sql: string, withCatalog: boolean) =>
    (await lintSql(sql, { phase: 'expand', ...(withCatalog && { catalog }) })).map((f) => `${f.rule}:${f.severity}`);

  it('without a catalog: a varchar(n) target is a narrowing warning, text a rewrite warning, others errors', async () => {
    expect(await severities(alter('varchar(50)'), false)).toEqual(['varchar-narrowing:warning']);
    expect(await severities(alter('text'), false)).toEqual(['alter-column-type:warning']);
    expect(await severities(alter('bigint'), false)).toEqual(['alter-column-type:error']);
  });

  it('with a catalog: exact answers', async () => {
    expect(await severities(alter('varchar(50)'), true)).toEqual(['varchar-narrowing:error']);
    expect(await severities(alter('varchar(100)'), true)).toEqual([]);
    expect(await severities(alter('varchar(150)'), true)).toEqual([]);
    expect(await severities(alter('text'), true)).toEqual([]);
    expect(await severities(`${LOCK}ALTER TABLE users ALTER COLUMN bio TYPE varchar(500);`, true)).toEqual(['varchar-narrowing:error']);
    expect(await severities(`${LOCK}ALTER TABLE users ALTER COLUMN n TYPE varchar(20);`, true)).toEqual(['alter-column-type:error']);
    expect(await severities(`${LOCK}ALTER TABLE users ALTER COLUMN n TYPE bigint;`, true)).toEqual(['alter-column-type:error']);
  });

  it('names both types in the message', async () => {
    const [f] = await lintSql(`${LOCK}ALTER TABLE users ALTER COLUMN n TYPE bigint;`, { phase: 'expand', catalog });
    expect(f?.message).toBe('users.n changes type int4 → int8, which rewrites the table');
    expect([f?.line, f?.column]).toEqual([2, 39]);
  });

  it('passes the schema-qualified table name to the catalog', async () => {
    const asked: string[] = [];
    await lintSql(`${LOCK}ALTER TABLE app.users ALTER COLUMN name TYPE text;`, {
      phase: 'expand',
      catalog: { columnType: (table, column) => (asked.push(`${table}.${column}`), undefined) },
    });
    expect(asked).toEqual(['app.users.name']);
    expect(await lint(`${LOCK}ALTER TABLE app.users ALTER COLUMN name TYPE text;`)).toEqual(['alter-column-type@2:46']);
  });
});
