import { describe, expect, it } from 'vitest';
import { op, OperationError, sql } from '../../../src/ops/index.js';

/** Call with arbitrary (wrong) options, as a JavaScript migration file could. */
const loose = (f: (...a: any[]) => unknown, ...args: unknown[]) => () => f(...args);

describe('op.* option validation', () => {
  it('names the operation and the option for a wrong type', () => {
    expect(loose(op.addColumn, 'users', { name: 'x', type: 42 })).toThrow(OperationError);
    expect(loose(op.addColumn, 'users', { name: 'x', type: 42 })).toThrow(/^op\.addColumn\("users"\): option "type": .*string/);
    expect(loose(op.alterColumn, 'orders', 'total', { type: 'bigint', up: 5 })).toThrow(/op\.alterColumn\("orders", "total"\): option "up"/);
    expect(loose(op.createIndex, 'orders', { columns: 'user_id' })).toThrow(/op\.createIndex\("orders"\): option "columns"/);
  });

  it('rejects unknown options (typos) by name', () => {
    expect(loose(op.addColumn, 'users', { name: 'x', type: 'text', nulable: false })).toThrow(/nulable/);
    expect(loose(op.sql, { up: 'SELECT 1', donw: 'SELECT 2' })).toThrow(/op\.sql\(\).*donw/);
  });

  it('rejects missing or empty required options', () => {
    expect(loose(op.addColumn, 'users', { name: 'x' })).toThrow(/option "type"/);
    expect(loose(op.createTable, 't', { columns: [] })).toThrow(/at least one column/);
    expect(loose(op.alterColumn, 'orders', 'total', {})).toThrow(/at least one change/);
    expect(loose(op.renameColumn, 'users', '', 'b')).toThrow(/must not be empty/);
  });

  it('rejects bad table references and identifiers', () => {
    expect(loose(op.dropTable, 'a.b.c')).toThrow(/"table" or "schema.table"/);
    expect(loose(op.addColumn, 'users', { name: 'x'.repeat(64), type: 'text' })).toThrow(/63 bytes/);
  });

  it('checks constraint options by type', () => {
    expect(loose(op.addConstraint, 'orders', { type: 'primary', columns: ['a'] })).toThrow(/op\.addConstraint\("orders"\): option "type"/);
    expect(loose(op.addConstraint, 'orders', { type: 'foreign key', columns: ['a', 'b'], references: { table: 'u', columns: ['id'] } })).toThrow(/2 local columns/);
    expect(loose(op.addColumn, 'users', { name: 'x', type: 'int', references: { table: 'u', column: 'id', onDelete: 'EXPLODE' } })).toThrow(/references\.onDelete/);
  });

  it('accepts the documented forms', () => {
    expect(op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` }).kind).toBe('addColumn');
    expect(op.alterColumn('orders', 'total', { type: 'bigint', up: sql`total::bigint`, down: sql`total::integer` }).kind).toBe('alterColumn');
    expect(op.createIndex('orders', { columns: ['user_id'] }).label).toContain('orders_user_id_idx');
    expect(op.sql({ up: 'CREATE TABLE x (a int)', down: 'DROP TABLE x' }).kind).toBe('sql');
    expect(op.renameColumn('app.users', 'email', 'email_address').kind).toBe('renameColumn');
  });
});

describe('compile-time option types', () => {
  it('wrong options fail to compile (checked by tsc)', () => {
    const wrong = () => {
      // @ts-expect-error type must be a string
      op.addColumn('users', { name: 'x', type: 1 });
      // @ts-expect-error unknown option
      op.addColumn('users', { name: 'x', type: 'text', nulable: true });
      // @ts-expect-error up must be an expression
      op.alterColumn('orders', 'total', { type: 'bigint', up: 5 });
      // @ts-expect-error at least one column
      op.createIndex('orders', { columns: [] });
      // @ts-expect-error a foreign key needs references
      op.addConstraint('orders', { type: 'foreign key', columns: ['user_id'] });
      // @ts-expect-error unknown referential action
      op.addColumn('orders', { name: 'u', type: 'int', references: { table: 'users', column: 'id', onDelete: 'EXPLODE' } });
      // @ts-expect-error op.sql needs up
      op.sql({ down: 'DROP TABLE x' });
    };
    expect(typeof wrong).toBe('function');
  });
});

describe('sql tag', () => {
  it('quotes interpolated literals and identifiers, splices fragments', () => {
    const e = sql`${sql.ident('order')} = ${"it's"} AND n > ${3} AND ${sql`x IS NULL`} AND b = ${true} AND c IS ${null}`;
    expect(e.sql).toBe(`"order" = 'it''s' AND n > 3 AND x IS NULL AND b = true AND c IS NULL`);
  });
});
